/**
 * Management ports for nodes: free ports picked by the OS, never handed out
 * twice while in use, and never one of the configuration's Broker ports.
 */
import { createServer } from 'node:net';

export class PortPool {
  private readonly taken = new Set<number>();
  private reserved = new Set<number>();

  /** `probe` finds a port that is free now (default: the OS picks one on 127.0.0.1). */
  constructor(private readonly probe: () => Promise<number> = () => freePort('127.0.0.1')) {}

  /** Ports that must not be handed out (the configuration's Broker and metrics ports). */
  reserve(ports: Iterable<number>): void {
    this.reserved = new Set(ports);
  }

  /** Marks a port as in use (a node adopted after a restart). */
  claim(port: number): void {
    this.taken.add(port);
  }

  async allocate(): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = await this.probe();
      if (!this.taken.has(port) && !this.reserved.has(port)) {
        this.taken.add(port);
        return port;
      }
    }
    throw new Error('could not find a free management port');
  }

  release(port: number): void {
    this.taken.delete(port);
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
