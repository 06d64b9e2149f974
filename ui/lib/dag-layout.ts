/**
 * Layered layout of a workflow's DAG, top to bottom: a step sits one layer below its deepest
 * dependency, and within a layer steps are ordered by where their dependencies are (barycentre),
 * which keeps most edges short and uncrossed.
 */

export interface LayoutStep {
  name: string;
  after: readonly string[];
}

export interface PlacedNode {
  name: string;
  layer: number;
  x: number;
  y: number;
}

export interface Edge {
  from: string;
  to: string;
  /** SVG path data. */
  d: string;
}

export interface DagLayout {
  nodes: Map<string, PlacedNode>;
  edges: Edge[];
  width: number;
  height: number;
}

export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  gapX: number;
  gapY: number;
  padding: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 188, nodeHeight: 46, gapX: 16, gapY: 34, padding: 12 };

export function layoutDag(steps: readonly LayoutStep[], o: LayoutOptions = DEFAULT_LAYOUT): DagLayout {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const layerOf = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (name: string): number => {
    const known = layerOf.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0; // a cycle cannot be registered; guard anyway
    visiting.add(name);
    const deps = (byName.get(name)?.after ?? []).filter((d) => byName.has(d));
    const layer = deps.length === 0 ? 0 : Math.max(...deps.map(depth)) + 1;
    visiting.delete(name);
    layerOf.set(name, layer);
    return layer;
  };
  const layers: string[][] = [];
  for (const s of steps) {
    const l = depth(s.name);
    while (layers.length <= l) layers.push([]);
    (layers[l] as string[]).push(s.name);
  }
  // Order each layer by the mean position of its dependencies in the layer above.
  const slot = new Map<string, number>();
  layers.forEach((layer, l) => {
    if (l > 0) {
      const key = (name: string) => {
        const deps = (byName.get(name)?.after ?? []).filter((d) => slot.has(d));
        return deps.length === 0
          ? Number.POSITIVE_INFINITY
          : deps.reduce((s, d) => s + (slot.get(d) ?? 0), 0) / deps.length;
      };
      const keys = new Map(layer.map((n, i) => [n, { k: key(n), i }]));
      layer.sort((a, b) => {
        const ka = keys.get(a) as { k: number; i: number };
        const kb = keys.get(b) as { k: number; i: number };
        return ka.k === kb.k ? ka.i - kb.i : ka.k - kb.k;
      });
    }
    const offset = -(layer.length - 1) / 2;
    layer.forEach((n, i) => {
      slot.set(n, offset + i);
    });
  });
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const width = o.padding * 2 + widest * o.nodeWidth + (widest - 1) * o.gapX;
  const height = o.padding * 2 + layers.length * o.nodeHeight + Math.max(0, layers.length - 1) * o.gapY;
  const center = width / 2;
  const nodes = new Map<string, PlacedNode>();
  layers.forEach((layer, l) => {
    for (const name of layer) {
      const x = center + (slot.get(name) as number) * (o.nodeWidth + o.gapX) - o.nodeWidth / 2;
      nodes.set(name, { name, layer: l, x, y: o.padding + l * (o.nodeHeight + o.gapY) });
    }
  });
  const edges: Edge[] = [];
  for (const s of steps) {
    const to = nodes.get(s.name) as PlacedNode;
    for (const dep of s.after) {
      const from = nodes.get(dep);
      if (!from) continue;
      const x1 = from.x + o.nodeWidth / 2;
      const y1 = from.y + o.nodeHeight;
      const x2 = to.x + o.nodeWidth / 2;
      const y2 = to.y;
      const bend = Math.max(12, (y2 - y1) / 2);
      edges.push({ from: dep, to: s.name, d: `M${x1} ${y1} C${x1} ${y1 + bend} ${x2} ${y2 - bend} ${x2} ${y2}` });
    }
  }
  return { nodes, edges, width, height };
}
