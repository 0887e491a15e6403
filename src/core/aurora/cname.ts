/**
 * Aurora endpoint names. The cluster (writer) endpoint is a CNAME to the instance endpoint of the
 * current writer, so "who DNS says is the writer" is the first label of that CNAME target:
 *
 *   orders.cluster-abc.ap-northeast-2.rds.amazonaws.com
 *     -> CNAME orders-instance-2.abc.ap-northeast-2.rds.amazonaws.com   (DNS writer: orders-instance-2)
 *     -> A     10.0.2.15
 *
 * Some teams put their own alias in front (`db.example.internal` -> the cluster endpoint); the
 * chain then starts with cluster endpoints, which are skipped: they name no instance.
 */

/** Second-label prefixes of Aurora cluster endpoints: writer, reader (`-ro-`) and custom. */
const CLUSTER_LABEL_PREFIXES = ['cluster-', 'cluster-ro-', 'cluster-custom-'] as const;

/** Lower case, without the trailing dot: DNS names compare case-insensitively. */
export function normalizeDnsName(name: string): string {
  return name.trim().replace(/\.+$/, '').toLowerCase();
}

/** True for an Aurora cluster, reader or custom endpoint (`<name>.cluster-<id>.<region>...`). */
export function isClusterEndpoint(name: string): boolean {
  const second = normalizeDnsName(name).split('.')[1] ?? '';
  return CLUSTER_LABEL_PREFIXES.some((p) => second.startsWith(p));
}

/** The instance an instance endpoint names: its first label (`orders-instance-2.abc...` -> `orders-instance-2`). */
export function instanceOf(endpoint: string): string | undefined {
  const first = normalizeDnsName(endpoint).split('.')[0];
  return first ? first : undefined;
}

/**
 * The instance DNS names as writer, from the CNAME chain of the cluster endpoint (targets in
 * order, as `ResolutionOk.cname`): the first target that is not itself a cluster endpoint.
 * Undefined when the name is not an alias (nothing to read the writer from).
 */
export function dnsWriterOf(chain: readonly string[]): string | undefined {
  const target = chain.find((name) => normalizeDnsName(name) !== '' && !isClusterEndpoint(name));
  return target === undefined ? undefined : instanceOf(target);
}
