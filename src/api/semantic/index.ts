// Checks the JSON Schema cannot express: names that must be unique, references between parts of
// the spec, CIDR arithmetic, cron syntax, ranges, and rules that join several fields.
//
// Every check is defensive: it looks only at values of the right type and leaves malformed ones to
// the schema (which already reported them), so one mistake yields one issue, not three. Each check
// has its own code so tools and tests can tell them apart:
//
//   name.duplicate name.tooLong ref.network ref.container dependsOn.cycle cidr.invalid
//   cidr.outsideSubnet cidr.overlap ip.invalid ip.outsideSubnet ip.conflict member.staticAddress
//   network.ipv6 selector.empty selector.random percent.range port.invalid port.protocol
//   duration.zero rate.zero size.zero fault.action fault.targets fault.notApplicable netem.empty
//   netem.dependency netem.conflict bandwidth.conflict partition.spec partition.groups
//   partition.count reject.protocol container.signal timing.conflict at.range repeat.duration
//   repeat.overlap schedule.invalid schedule.duration timeZone.invalid cap.unknown env.key
//   label.key label.reserved image.invalid network.external network.driver network.option
//   container.networkMode member.networkMode member.defaultBridge ref.volume volume.option
//   mount.source mount.target engine.overlay engine.mismatch
//
// One module per part of the spec, run in the order below; that order is the order of the issues.
// Members and faults refer to networks through the NetworkRef that checkNetworks returns.

import type { Issue } from '../types.js';
import { checkContainers } from './containers.js';
import { checkEngines } from './engines.js';
import { checkFaults } from './faults.js';
import { checkMembers } from './members.js';
import { checkNetworks } from './networks.js';
import { Report, isObj, str } from './report.js';
import { checkScenarioDuration } from './timing.js';
import { checkVolumes } from './volumes.js';

/** Run every semantic check on a (possibly invalid) Scenario object. */
export function semanticIssues(root: unknown): Issue[] {
  if (!isObj(root)) return [];
  const meta = isObj(root.metadata) ? root.metadata : {};
  const spec = isObj(root.spec) ? root.spec : undefined;
  if (!spec) return [];
  const r = new Report(str(meta.name));
  const networkRef = checkNetworks(r, spec);
  const volumeNames = checkVolumes(r, spec);
  const modes = checkContainers(r, spec, volumeNames);
  checkMembers(r, spec, networkRef, modes);
  checkFaults(r, spec, networkRef);
  checkEngines(r, spec);
  checkScenarioDuration(r, spec);
  return r.issues;
}
