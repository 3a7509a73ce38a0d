import type { Command } from 'commander';

export function registerLaunchCommands(_program: Command): void {}
