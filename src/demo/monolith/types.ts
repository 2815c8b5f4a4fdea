import type { DemoContext } from '../types.js';

/**
 * What a chapter of `pgpact demo --monolith` gets: the running one-schema system. There is
 * no manifest at the start: the first chapter writes it with `pgpact init`, the later ones
 * edit it as a team would and apply it.
 */
export interface MonolithContext
  extends Omit<DemoContext, 'manifest' | 'exampleDir' | 'durationSeconds'> {
  /** examples/monolith. */
  exampleDir: string;
  /** The team's pgpact.yaml (in the state directory): init writes it, chapters edit it. */
  manifestFile: string;
}
