/** The TLS flags of the daemons' command lines (read by settings.ts readTlsFiles). */
import type { Command } from 'commander';
/** TLS flags shared by the controller, the agent and `up`. */
export function addTlsOptions(command: Command): Command {
  return command
    .option('--tls-cert <file>', 'TLS certificate (PEM) for listeners and as client certificate [env ZEEK_MGMT_TLS_CERT]')
    .option('--tls-key <file>', 'its private key (PEM) [env ZEEK_MGMT_TLS_KEY]')
    .option('--tls-ca <file>', 'CA bundle peers\' certificates must chain to; clients are asked for certificates (mutual TLS) [env ZEEK_MGMT_TLS_CA]')
    .option('--tls-passphrase-file <file>', 'file holding the key\'s passphrase [or env ZEEK_MGMT_TLS_PASSPHRASE]');
}

