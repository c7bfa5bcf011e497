// spec.volumes: unique names, Docker name length, labels and driver options. Returns the declared
// names, for the containers that mount them.

import { dockerNameLength, labels, uniqueNames } from './fields.js';
import { SPEC as S, isObj, list, q, str, type Obj, type Path, type Report } from './report.js';

export function checkVolumes(r: Report, spec: Obj): Set<string> {
  const volumes = list(spec.volumes);
  const names = uniqueNames(r, volumes, [...S, 'volumes'], 'volume');
  volumes.forEach((v, i) => {
    if (!isObj(v)) return;
    const p: Path = [...S, 'volumes', i];
    const name = str(v.name);
    if (name !== undefined) dockerNameLength(r, name, [...p, 'name'], 'volume');
    labels(r, v.labels, [...p, 'labels'], true);
    if (isObj(v.options)) {
      for (const key of Object.keys(v.options)) {
        if (key === '' || /[=\s\u0000-\u001f\u007f]/.test(key)) {
          r.add(
            'volume.option',
            [...p, 'options', key],
            `${q(key)} is not a driver option name: no "=", spaces or control characters; e.g. "type"`,
          );
        }
      }
    }
  });
  return new Set(names.keys());
}
