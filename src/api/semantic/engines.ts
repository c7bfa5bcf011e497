// Engines in the spec: where a network or a declared container lives, and selectors limited to one
// engine. Which engines exist is the controller's configuration (--engine, --context), not the
// file's: an engine name the controller does not know is reported in status (UnknownEngine) when it
// reconciles. What can be checked here is that the spec agrees with itself:
//
//   spec.networks[i].engine on an overlay network      an overlay spans the Swarm; it has no engine
//   a member on a bridge network of engine A that      containers share networks across engines only
//     names a declared container of engine B           through overlay networks
//   select.engine B on a bridge network of engine A    would match nothing that may join
//   select.engine B with names of declared containers  would match nothing
//     of another engine
//   select.engine alone                                a limit, not a criterion: it would select
//                                                      every container of an engine

import { SPEC as S, isObj, list, q, str, type Obj, type Path, type Report } from './report.js';

const DEFAULT = 'default';

/** The engine a declared container or network runs on (its `engine`, else the default). */
function engineIn(o: Obj): string {
  return str(o.engine) ?? DEFAULT;
}

export function checkEngines(r: Report, spec: Obj): void {
  const networks = new Map<string, { index: number; overlay: boolean; engine: string }>();
  list(spec.networks).forEach((n, i) => {
    if (!isObj(n) || str(n.name) === undefined) return;
    const overlay = n.driver === 'overlay';
    if (overlay && n.engine !== undefined) {
      r.add(
        'engine.overlay',
        [...S, 'networks', i, 'engine'],
        'an overlay network spans every engine of the Swarm and is created once through a manager; remove engine (containers on any engine may join it)',
      );
    }
    if (!networks.has(str(n.name)!)) networks.set(str(n.name)!, { index: i, overlay, engine: engineIn(n) });
  });
  const containers = new Map<string, { index: number; engine: string }>();
  list(spec.containers).forEach((c, i) => {
    if (isObj(c) && str(c.name) !== undefined && !containers.has(str(c.name)!))
      containers.set(str(c.name)!, { index: i, engine: engineIn(c) });
  });

  /** A selector limited to an engine: alone it is no criterion; with names of declared containers of another engine it matches nothing. */
  const limited = (sel: unknown, path: Path, others: string[]) => {
    if (!isObj(sel) || str(sel.engine) === undefined) return;
    const engine = str(sel.engine)!;
    if (!others.some((k) => sel[k] !== undefined)) {
      r.add(
        'selector.empty',
        [...path, 'engine'],
        `engine limits ${others.join(', ')} to one engine and selects nothing by itself; give one of them too`,
      );
    }
    list(sel.names).forEach((name, j) => {
      const d = typeof name === 'string' ? containers.get(name) : undefined;
      if (d && d.engine !== engine) {
        r.add(
          'engine.mismatch',
          [...path, 'names', j],
          `${q(name as string)} runs on engine ${q(d.engine)} (spec.containers[${d.index}]) but this selector is limited to engine ${q(engine)}, so it would match nothing; fix one of them`,
        );
      }
    });
  };

  list(spec.members).forEach((m, i) => {
    if (!isObj(m)) return;
    const p: Path = [...S, 'members', i];
    limited(m.select, [...p, 'select'], ['names', 'labels', 'compose']);
    const net = networks.get(str(m.network) ?? '');
    if (!net || net.overlay || !isObj(m.select)) return;
    const sel = m.select;
    const where = `network ${q(str(m.network)!)} is a local network on engine ${q(net.engine)} (spec.networks[${net.index}])`;
    const fix = `containers on different engines share only overlay networks: use driver: overlay, or set spec.networks[${net.index}].engine`;
    const selEngine = str(sel.engine);
    if (selEngine !== undefined && selEngine !== net.engine) {
      r.add(
        'engine.mismatch',
        [...p, 'select', 'engine'],
        `this member is limited to engine ${q(selEngine)} but ${where}; ${fix}`,
      );
      return;
    }
    list(sel.names).forEach((name, j) => {
      const d = typeof name === 'string' ? containers.get(name) : undefined;
      if (d && d.engine !== net.engine && (selEngine === undefined || selEngine === d.engine)) {
        r.add(
          'engine.mismatch',
          [...p, 'select', 'names', j],
          `${q(name as string)} runs on engine ${q(d.engine)} (spec.containers[${d.index}]) but ${where}; ${fix}`,
        );
      }
    });
  });

  list(spec.faults).forEach((f, i) => {
    if (!isObj(f)) return;
    const p: Path = [...S, 'faults', i];
    limited(f.targets, [...p, 'targets'], ['names', 'labels', 'compose']);
    limited(f.peers, [...p, 'peers'], ['names', 'labels']);
  });
}
