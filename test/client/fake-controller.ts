/**
 * A small protocol-speaking stand-in for the controller: a real Endpoint on
 * a free port that answers ControllerApi requests with canned results, so
 * the client's commands are tested over real sockets without a controller.
 */
import { Endpoint, type Value, type ZeekEvent } from '../../src/protocol/index.js';
import { ControllerApi, EventDispatcher, TOPIC_CONTROLLER, anyone, type EventSpec, type Result } from '../../src/management/index.js';

export type Responder = (args: readonly unknown[]) => ZeekEvent | undefined;

export class FakeController {
  readonly endpoint = new Endpoint({ pingIntervalMs: 0 });
  readonly received: ZeekEvent[] = [];
  port = 0;
  private readonly responders = new Map<string, Responder>();

  async start(): Promise<this> {
    const dispatcher = new EventDispatcher([ControllerApi], () => undefined, anyone);
    for (const spec of Object.values(ControllerApi)) {
      if (!('request' in spec)) continue;
      const request = spec.request as EventSpec<readonly unknown[]>;
      dispatcher.on(request, (args) => {
        this.received.push(request.make(...args));
        const answer = this.responders.get(request.name)?.(args);
        if (answer) this.endpoint.publishEvent(TOPIC_CONTROLLER, answer);
      });
    }
    this.endpoint.subscribe(TOPIC_CONTROLLER, dispatcher.handle);
    this.port = (await this.endpoint.listen({ host: '127.0.0.1', port: 0 })).port;
    return this;
  }

  /** Answers `request` with `response(reqid, …make(reqid, args))`. */
  on<R extends readonly unknown[]>(request: EventSpec<readonly unknown[]>, response: EventSpec<R>, make: (reqid: string, args: readonly unknown[]) => R): void {
    this.responders.set(request.name, (args) => response.make(...make(args[0] as string, args)));
  }

  names(): string[] {
    return this.received.map((e) => e.name.replace('Management::Controller::API::', ''));
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}

export const ok = (reqid: string, extra: Partial<Result> = {}): Result => ({ reqid, success: true, ...extra });
export const bad = (reqid: string, error: string, extra: Partial<Result> = {}): Result => ({ reqid, success: false, error, ...extra });
export type { Value };
