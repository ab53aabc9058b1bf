import { errorReply, okReply } from "./codes.ts";
import { queryTask, retrieveContent, retrieveFile, uploadFile } from "./routes-files.ts";
import { t2aAsyncV2, t2aV2 } from "./routes-synthesis.ts";
import { deleteVoice, listedDesignedVoices, voiceDesign } from "./routes-voice-design.ts";
import type { RouteHandler } from "./state.ts";
import { validateGetVoice } from "./validation.ts";

/** `POST /v1/get_voice`: categories not asked for come back `null` or absent, as live. */
const getVoice: RouteHandler = ({ state, record, trace }) => {
  const validated = validateGetVoice(record.json);
  if (!validated.ok) return errorReply(validated.error, trace);
  const type = validated.voiceType;
  const body: Record<string, unknown> = {
    voice_cloning: type === "voice_cloning" || type === "all" ? [] : null,
    voice_generation: type === "voice_generation" || type === "all" ? listedDesignedVoices(state) : null,
  };
  if (type === "system" || type === "all") {
    body.system_voice = state.voices.map((v) => ({
      voice_id: v.voice_id,
      voice_name: v.voice_name ?? v.voice_id,
      description: v.description ?? [],
      created_time: "1970-01-01",
    }));
  }
  return okReply(body, trace);
};

/** Path → allowed methods → handler. Anything else is Go's plain-text 404, whatever the method. */
export const ROUTES: Record<string, Partial<Record<string, RouteHandler>>> = {
  "/v1/t2a_v2": { POST: t2aV2 },
  "/v1/t2a_async_v2": { POST: t2aAsyncV2 },
  // The documented call is GET; MiniMax's CLI POSTs `{task_id}`, so both are answered.
  "/v1/query/t2a_async_query_v2": { GET: queryTask, POST: queryTask },
  "/v1/files/retrieve": { GET: retrieveFile },
  "/v1/files/retrieve_content": { GET: retrieveContent },
  "/v1/files/upload": { POST: uploadFile },
  "/v1/get_voice": { POST: getVoice },
  "/v1/voice_design": { POST: voiceDesign },
  "/v1/delete_voice": { POST: deleteVoice },
};
