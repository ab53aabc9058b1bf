import { jsonReply, type Reply } from "../common/http.ts";

/** `status_msg` texts as MiniMax sends them. */
export const STATUS_MESSAGES: Record<number, string> = {
  0: "success",
  1000: "unknown error",
  1001: "request timeout",
  1002: "rate limit",
  1004: "not authorized",
  1008: "insufficient balance",
  1024: "internal error",
  1026: "input new_sensitive",
  1027: "output new_sensitive",
  1033: "system error",
  1039: "token limit",
  1041: "conn limit",
  1042: "invisible character ratio limit",
  2013: "invalid params",
  2045: "rate growth limit",
  2049: "invalid api key",
  2054: "voice id not exist",
  2056: "usage limit exceeded",
  2061: "your current token plan not support model",
};

export interface BaseRespError {
  code: number;
  msg: string;
}

export function baseRespError(code: number, msg?: string): BaseRespError {
  return { code, msg: msg ?? STATUS_MESSAGES[code] ?? "unknown error" };
}

export function invalidParams(detail: string): BaseRespError {
  return { code: 2013, msg: `invalid params, ${detail}` };
}

/** Business errors are HTTP 200: only `base_resp` tells a client something went wrong. */
export function errorReply(error: BaseRespError, trace: string): Reply {
  return jsonReply(
    200,
    { base_resp: { status_code: error.code, status_msg: error.msg }, trace_id: trace },
    { "Trace-Id": trace },
  );
}

export function okReply(body: Record<string, unknown>, trace: string): Reply {
  return jsonReply(
    200,
    { ...body, trace_id: trace, base_resp: { status_code: 0, status_msg: "success" } },
    { "Trace-Id": trace },
  );
}
