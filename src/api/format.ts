// Issues as text, compiler style, so editors and CI logs make them clickable:
//
//   formatPath(['spec', 'networks', 0, 'ipam', 'config', 0, 'subnet'])
//     === 'spec.networks[0].ipam.config[0].subnet'
//   formatPath(['spec', 'containers', 0, 'labels', 'com.example/role'])
//     === 'spec.containers[0].labels["com.example/role"]'
//   formatIssue('scenarios/x.yaml', { line: 12, column: 7, path: [...subnet], message: '...' })
//     === 'scenarios/x.yaml:12:7: spec.networks[0].ipam.config[0].subnet: "10.0.0.0/33" is not a
//          valid CIDR: prefix length 33 exceeds 32 for IPv4; write e.g. 10.0.0.0/24'

import type { Issue } from './types.js';

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A path as people write it: dots for keys, [n] for list items, ["..."] for unusual keys. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** `file:line:col: path: message`; the position and the path are left out when unknown/empty. */
export function formatIssue(file: string, issue: Issue): string {
  let where = file;
  if (issue.line !== undefined) {
    where += `:${issue.line}`;
    if (issue.column !== undefined) where += `:${issue.column}`;
  }
  const path = formatPath(issue.path);
  return path === '' ? `${where}: ${issue.message}` : `${where}: ${path}: ${issue.message}`;
}

/** Several issues, one per line. */
export function formatIssues(file: string, issues: readonly Issue[]): string {
  return issues.map((i) => formatIssue(file, i)).join('\n');
}
