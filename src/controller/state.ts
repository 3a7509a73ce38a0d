/**
 * The controller's configuration states (SPEC §4): STAGED as the client sent
 * it, READY with addresses and ports filled in, DEPLOYED the last attempted
 * deployment. Every change is written to the store before it is applied in
 * memory, so a response never reports state that a crash could lose.
 */
import type { Configuration } from '../management/index.js';
import type { ManagementLogger } from '../management/log.js';
import type { ControllerStore } from './store.js';

export class ConfigStates {
  private stagedConfig: Configuration | undefined;
  private readyConfig: Configuration | undefined;
  private deployedConfig: Configuration | undefined;

  /** Reads the persisted states; throws StoreError if they are unreadable. */
  constructor(private readonly store: ControllerStore, private readonly log: ManagementLogger) {
    this.stagedConfig = store.load('staged');
    this.readyConfig = store.load('ready');
    this.deployedConfig = store.load('deployed');
  }

  get staged(): Configuration | undefined { return this.stagedConfig; }
  get ready(): Configuration | undefined { return this.readyConfig; }
  get deployed(): Configuration | undefined { return this.deployedConfig; }

  stage(staged: Configuration, ready: Configuration): void {
    this.store.saveStaged(staged, ready);
    this.stagedConfig = staged;
    this.readyConfig = ready;
    this.log.info({ config: staged.id, state: 'READY' }, `configuration ${staged.id} staged and ready`);
  }

  deploy(config: Configuration): void {
    this.store.saveDeployed(config);
    this.deployedConfig = config;
    this.log.info({ config: config.id, state: 'DEPLOYED' }, `configuration ${config.id} is the deployed configuration`);
  }
}
