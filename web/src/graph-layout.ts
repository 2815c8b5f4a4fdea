import type { ElkNode } from 'elkjs/lib/elk.bundled.js';

/**
 * The one ELK instance of the page, loaded on the first graph drawn: the layout library
 * is nearly all of the page's JavaScript, so it is a separate chunk the first screen
 * does not wait for. Later graphs (the map again, the lock-wait graph) reuse it.
 */
let elk: Promise<{ layout(graph: ElkNode): Promise<ElkNode> }> | undefined;

/** Lays a graph out with ELK, loading ELK the first time. */
export function layoutGraph(graph: ElkNode): Promise<ElkNode> {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => new m.default());
  return elk.then((instance) => instance.layout(graph));
}
