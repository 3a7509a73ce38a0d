/**
 * A client request that does not decode (e.g. a node with an unknown role)
 * still gets its response when its reqid is readable, with a failed Result
 * saying what was wrong, so a client does not wait for its timeout. The
 * caller also sends a Broker error; nothing changes.
 */
import { ControllerApi, failure, type InvalidEvent, type Result } from '../management/index.js';
import type { ZeekEvent } from '../protocol/index.js';

const list = (make: (reqid: string, r: Result[]) => ZeekEvent) => (reqid: string, r: Result): ZeekEvent => make(reqid, [r]);

const RESPONSES: Record<string, (reqid: string, r: Result) => ZeekEvent> = {
  [ControllerApi.getInstancesRequest.name]: (id, r) => ControllerApi.getInstancesResponse.make(id, r),
  [ControllerApi.stageConfigurationRequest.name]: list((id, r) => ControllerApi.stageConfigurationResponse.make(id, r)),
  [ControllerApi.getConfigurationRequest.name]: (id, r) => ControllerApi.getConfigurationResponse.make(id, r),
  [ControllerApi.deployRequest.name]: list((id, r) => ControllerApi.deployResponse.make(id, r)),
  [ControllerApi.getNodesRequest.name]: list((id, r) => ControllerApi.getNodesResponse.make(id, r)),
  [ControllerApi.getIdValueRequest.name]: list((id, r) => ControllerApi.getIdValueResponse.make(id, r)),
  [ControllerApi.restartRequest.name]: list((id, r) => ControllerApi.restartResponse.make(id, r)),
  [ControllerApi.testTimeoutRequest.name]: (id, r) => ControllerApi.testTimeoutResponse.make(id, r),
};

/** The response to send for a malformed client request, if it has a readable reqid. */
export function responseToInvalid(problem: InvalidEvent): ZeekEvent | undefined {
  const respond = problem.event === undefined ? undefined : RESPONSES[problem.event];
  const reqid = problem.args?.[0];
  if (!respond || reqid?.type !== 'string') return undefined;
  return respond(reqid.value, failure(reqid.value, `invalid request: ${problem.error}`));
}
