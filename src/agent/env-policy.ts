/**
 * Which environment variables a configuration may set for its nodes. A
 * node's env is handed to the process as is, so a variable that makes a
 * program load other code (LD_PRELOAD, NODE_OPTIONS, ZEEK_PLUGIN_PATH, …)
 * would let whoever may deploy run anything as the agent's user. Those are
 * refused unless the agent is started with --allow-loader-env. (The agent's
 * own variables, CLUSTER_NODE and ZEEK_MGMT_NODE_*, are set after the
 * configuration's and win.)
 */
const LOADER_PREFIXES = ['LD_', 'DYLD_', 'NODE_', 'PYTHON', 'PERL5', 'RUBY', 'ZEEK_PLUGIN_', 'OPENSSL_', 'GCONV_'];
const LOADER_NAMES = new Set(['ZEEKPATH', 'GLIBC_TUNABLES', 'BASH_ENV', 'ENV', 'SHELLOPTS', 'PS4', 'IFS', 'LOCPATH', 'HOSTALIASES', 'SSLKEYLOGFILE', 'PATH']);

export interface EnvPolicy {
  /** --allow-loader-env: the operator trusts whoever deploys with the agent's user. */
  allowLoaderEnv: boolean;
}

/** Why `name` may not be set by a configuration, or undefined when it may. */
export function envRefusal(name: string, policy: EnvPolicy): string | undefined {
  if (policy.allowLoaderEnv) return undefined;
  const upper = name.toUpperCase();
  if (LOADER_NAMES.has(upper) || LOADER_PREFIXES.some((p) => upper.startsWith(p))) {
    return `${name} can make the node load other code; the agent refuses it unless started with --allow-loader-env`;
  }
  return undefined;
}
