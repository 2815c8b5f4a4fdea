import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk.bundled.js';
import { layoutGraph } from '../graph-layout.js';
import type {
  CouplingMap,
  MapEdge,
  MapSchema,
  MapService,
  MapTable,
} from '../../../src/server/api-types.js';
import { edgeLabel } from './edge-style.js';

/** Above this many tables the map draws only the tables someone else reads (all are still listed). */
export const MAX_DRAWN_TABLES = 60;

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface LaidOutEdge {
  /** A consumer edge, or undefined for an ownership edge (service → schema, or → table in a shared schema). */
  edge?: MapEdge;
  owner?: { service: string; schema: string; table?: string };
  points: Point[];
  label?: Box & { text: string };
}

export interface LaidOutMap {
  width: number;
  height: number;
  services: (Box & { service: MapService })[];
  schemas: (Box & { schema: MapSchema })[];
  tables: (Box & { table: MapTable })[];
  edges: LaidOutEdge[];
  /** Tables left out of the drawing (they are in the list). */
  hiddenTables: number;
}

let measureContext: CanvasRenderingContext2D | null | undefined;

/** Width of a text in the page's font (canvas measurement, rough fallback without canvas). */
export function textWidth(text: string, font: string): number {
  measureContext ??= document.createElement('canvas').getContext('2d');
  if (!measureContext) return text.length * 7.5;
  measureContext.font = font;
  return measureContext.measureText(text).width;
}

const FONT = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const SMALL = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const LABEL = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

const id = {
  service: (name: string) => `service:${name}`,
  schema: (name: string) => `schema:${name}`,
  table: (tableId: string) => `table:${tableId}`,
};

/** Which tables the map draws: all of them, or on big databases only the connected ones. */
export function drawnTables(map: CouplingMap): MapTable[] {
  if (map.tables.length <= MAX_DRAWN_TABLES) return map.tables;
  const connected = new Set(map.edges.map((e) => e.table));
  return map.tables.filter((t) => connected.has(t.id) || t.findings.length > 0);
}

/** Lays the coupling map out with ELK's layered algorithm: services on the left, schemas holding their tables on the right. */
export async function layoutMap(map: CouplingMap): Promise<LaidOutMap> {
  const tables = drawnTables(map);
  const drawn = new Set(tables.map((t) => t.id));
  const schemaNames = new Set(tables.map((t) => t.schema));
  for (const s of map.services)
    for (const owned of s.owns)
      if (map.schemas.some((x) => x.name === owned)) schemaNames.add(owned);
  const schemas = map.schemas.filter((s) => schemaNames.has(s.name));

  const children: ElkNode[] = map.services.map((s) => ({
    id: id.service(s.name),
    width: Math.max(textWidth(s.name, FONT), textWidth(serviceSubtitle(s), SMALL)) + 36,
    height: 50,
    layoutOptions: { 'elk.layered.layering.layerConstraint': 'FIRST' },
  }));
  for (const schema of schemas) {
    const label = schemaLabel(schema);
    children.push({
      id: id.schema(schema.name),
      layoutOptions: {
        'elk.padding': '[top=40,left=14,bottom=14,right=14]',
        // Data on the right of the services, owned or not.
        'elk.layered.layering.layerConstraint': 'LAST',
        'elk.nodeSize.minimum': `(${Math.ceil(textWidth(label, LABEL) + 40)}, 60)`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
      },
      children: tables
        .filter((t) => t.schema === schema.name)
        .map((t) => ({
          id: id.table(t.id),
          width: Math.max(120, textWidth(t.name, FONT) + 58),
          height: 34,
        })),
    });
  }
  const edges: ElkExtendedEdge[] = [];
  const owners: { service: string; schema: string; table?: string }[] = [];
  for (const s of map.services) {
    for (const owned of s.owns) {
      if (!schemaNames.has(owned)) continue;
      edges.push({
        id: `owns:${owners.length}`,
        sources: [id.service(s.name)],
        targets: [id.schema(owned)],
      });
      owners.push({ service: s.name, schema: owned });
    }
    // In a shared schema (public) a service owns single tables: one ownership edge to each.
    for (const tableId of s.ownsTables ?? []) {
      const table = tables.find((t) => t.id === tableId);
      if (!table) continue;
      edges.push({
        id: `owns:${owners.length}`,
        sources: [id.service(s.name)],
        targets: [id.table(tableId)],
      });
      owners.push({ service: s.name, schema: table.schema, table: table.name });
    }
  }
  map.edges.forEach((e, index) => {
    if (!drawn.has(e.table)) return;
    const text = edgeLabel(e);
    edges.push({
      id: `edge:${index}`,
      sources: [id.service(e.service)],
      targets: [id.table(e.table)],
      ...(text ? { labels: [{ text, width: textWidth(text, SMALL) + 14, height: 18 }] } : {}),
    });
  });

  const input: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.json.edgeCoords': 'ROOT',
      'elk.json.shapeCoords': 'ROOT',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
      'elk.spacing.nodeNode': '22',
      'elk.layered.spacing.edgeNodeBetweenLayers': '22',
      'elk.spacing.edgeLabel': '4',
      'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
      'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
      'elk.padding': '[top=16,left=16,bottom=16,right=16]',
    },
    children,
    edges,
  };
  const graph: ElkNode = await layoutGraph(input);

  const boxes = new Map<string, Box>();
  const collect = (node: ElkNode) => {
    boxes.set(node.id, { x: node.x ?? 0, y: node.y ?? 0, w: node.width ?? 0, h: node.height ?? 0 });
    for (const c of node.children ?? []) collect(c);
  };
  for (const c of graph.children ?? []) collect(c);

  const laidEdges: LaidOutEdge[] = (graph.edges ?? []).map((e) => {
    const points: Point[] = [];
    for (const section of (e as ElkExtendedEdge).sections ?? []) {
      points.push(section.startPoint, ...(section.bendPoints ?? []), section.endPoint);
    }
    const label = e.labels?.[0];
    const laid: LaidOutEdge = {
      points,
      ...(label
        ? {
            label: {
              x: label.x ?? 0,
              y: label.y ?? 0,
              w: label.width ?? 0,
              h: label.height ?? 0,
              text: label.text ?? '',
            },
          }
        : {}),
    };
    if (e.id.startsWith('owns:')) {
      laid.owner = owners[Number(e.id.slice('owns:'.length))];
    } else {
      laid.edge = map.edges[Number(e.id.slice('edge:'.length))];
    }
    return laid;
  });

  return {
    width: graph.width ?? 0,
    height: graph.height ?? 0,
    services: map.services.map((service) => ({ ...boxes.get(id.service(service.name))!, service })),
    schemas: schemas.map((schema) => ({ ...boxes.get(id.schema(schema.name))!, schema })),
    tables: tables.map((table) => ({ ...boxes.get(id.table(table.id))!, table })),
    edges: laidEdges,
    hiddenTables: map.tables.length - tables.length,
  };
}

/** The second line of a service node. */
export function serviceSubtitle(s: MapService): string {
  if (!s.inManifest) return 'not in the manifest';
  return s.team ? `team ${s.team}` : `role ${s.role}`;
}

/** The caption of a schema box. */
export function schemaLabel(s: MapSchema): string {
  return s.ownerService
    ? `schema ${s.name} · owned by ${s.ownerService}`
    : `schema ${s.name} · no owner`;
}
