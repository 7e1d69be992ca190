import { useEffect, useRef } from "react";
import cytoscape, { type Core } from "cytoscape";
import dagre from "cytoscape-dagre";
import { DAGRE_MAX_NODES, layeredPositions, STATUS_STYLE, type GraphModel } from "../logic/graph";
import { TASK_STATUSES, type TaskStatus } from "../types";

cytoscape.use(dagre);

declare global {
  interface Window {
    /** Wall-clock times (ms since the epoch) at which status changes reached the graph. */
    __aideGraphUpdates?: { id: string; status: TaskStatus; at: number }[];
  }
}

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      shape: "round-rectangle",
      width: 180,
      height: 36,
      "font-size": 12,
      "text-valign": "center",
      "text-halign": "center",
      // Labels are already short (nodeLabel); below this on-screen size they are not drawn,
      // which is what keeps a fitted 1,000-node graph fast to draw.
      "min-zoomed-font-size": 7,
      "border-width": 2,
    },
  },
  ...TASK_STATUSES.map((status) => ({
    selector: `node[status = "${status}"]`,
    style: {
      "background-color": STATUS_STYLE[status].fill,
      color: STATUS_STYLE[status].text,
      "border-color": STATUS_STYLE[status].border,
    },
  })),
  { selector: "node:selected", style: { "border-width": 4, "border-color": "#f59e0b" } },
  {
    selector: "edge",
    style: {
      width: 1.5,
      "curve-style": "straight",
      "target-arrow-shape": "triangle",
      "line-color": "#94a3b8",
      "target-arrow-color": "#94a3b8",
    },
  },
];

/** The group's dependency graph on a canvas: built once per set of nodes, then only the nodes
 * whose status changed are restyled (a 1,000-node graph is never redrawn from scratch). */
export default function TaskGraph({
  model,
  onOpen,
}: {
  model: GraphModel;
  onOpen: (taskId: string) => void;
}) {
  const container = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | null>(null);
  const shape = model.nodes.map((n) => n.id).join(",");
  const openRef = useRef(onOpen);
  openRef.current = onOpen;

  useEffect(() => {
    if (!container.current) return;
    const started = performance.now();
    const large = model.nodes.length > DAGRE_MAX_NODES;
    const positions = large ? layeredPositions(model) : null;
    const instance = cytoscape({
      container: container.current,
      elements: [
        ...model.nodes.map((n) => ({
          group: "nodes" as const,
          data: { id: n.id, label: n.label, status: n.status },
          ...(positions ? { position: positions.get(n.id) } : {}),
        })),
        ...model.edges.map((e) => ({ group: "edges" as const, data: e })),
      ],
      style: STYLE,
      layout: large
        ? { name: "preset", fit: true, padding: 20 }
        : ({ name: "dagre", rankDir: "LR", nodeSep: 20, rankSep: 60, fit: true, padding: 20 } as cytoscape.LayoutOptions),
      minZoom: 0.05,
      maxZoom: 3,
      wheelSensitivity: 0.3,
      textureOnViewport: large,
      hideEdgesOnViewport: large,
      pixelRatio: large ? 1 : "auto",
    });
    instance.on("tap", "node", (event) => openRef.current(event.target.id()));
    cy.current = instance;
    (container.current as HTMLDivElement & { __cy?: Core }).__cy = instance;
    instance.one("render", () => {
      performance.measure("aide:graph-drawn", { start: started, end: performance.now() });
      container.current?.setAttribute("data-drawn", "true");
    });
    return () => {
      instance.destroy();
      cy.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rebuilt only when the node set changes
  }, [shape]);

  useEffect(() => {
    const instance = cy.current;
    if (!instance) return;
    const changed: { id: string; status: TaskStatus }[] = [];
    instance.batch(() => {
      for (const node of model.nodes) {
        const element = instance.getElementById(node.id);
        if (element.nonempty() && element.data("status") !== node.status) {
          element.data("status", node.status);
          changed.push({ id: node.id, status: node.status });
        }
      }
    });
    if (changed.length) {
      const at = performance.timeOrigin + performance.now();
      const log = (window.__aideGraphUpdates ??= []);
      for (const change of changed) log.push({ ...change, at });
    }
  }, [model]);

  function zoom(factor: number) {
    const instance = cy.current;
    if (!instance) return;
    instance.zoom({
      level: instance.zoom() * factor,
      renderedPosition: { x: instance.width() / 2, y: instance.height() / 2 },
    });
  }

  return (
    <div className="graph">
      <div className="graph-controls" role="toolbar" aria-label="Graph view">
        <button type="button" onClick={() => zoom(1.25)} aria-label="Zoom in">
          +
        </button>
        <button type="button" onClick={() => zoom(0.8)} aria-label="Zoom out">
          −
        </button>
        <button type="button" onClick={() => cy.current?.fit(undefined, 20)}>
          Fit
        </button>
      </div>
      <div
        ref={container}
        className="graph-canvas"
        role="img"
        aria-label={`Dependency graph of ${model.nodes.length} tasks; the table below lists them`}
        data-graph
      />
    </div>
  );
}
