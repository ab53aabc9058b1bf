/**
 * A fake Discord voice server (voice gateway v8 over TLS + UDP/RTP) added to a fake Discord, so the
 * real discord.js and @discordjs/voice can join, play, and have what they sent decrypted and decoded:
 *
 *   const discord = await startFakeDiscord();
 *   const voice = await startFakeVoice(discord, { modes?, heartbeatIntervalMs?, tokenOverride?, onPacket? });
 *   // … the bot joins fixtures.channels.voice and plays …
 *   const session = await voice.waitForAudio({ minDurationMs: 900, quietMs: 150 });
 *   session.durationMs(); session.pcm(); session.segments();   // 48 kHz stereo, silence frames excluded
 *   dominantFrequency(session.pcm(), 48_000, 2);                // from ../audio/frequency.ts
 *   connection.destroy(); await voice.close(); await client.destroy(); await discord.close();
 *
 * FakeVoice
 *   endpoint "127.0.0.1:PORT", port, udpPort
 *   sessions: VoiceSession[]              every accepted IDENTIFY, oldest first (RESUME keeps the session)
 *   connections: VoiceSocketRecord[]      every websocket: messages received, close code, who closed
 *   activeSession(guildId?)               newest session that can still be resumed
 *   waitForSession(predicate?, timeoutMs = 5000)
 *   waitForAudio({ guildId?, minDurationMs?, quietMs?, timeoutMs = 10000 }) → session
 *   waitForClose(code | predicate, timeoutMs = 5000) → VoiceSocketRecord
 *   on("packet", (session, info: PacketInfo) => …)   every decrypted RTP packet, `info.at` = performance.now()
 *   kick(guildId?)         VOICE_STATE_UPDATE channel_id null, then close 4014: the client must not reconnect
 *   drop(code = 4015)      close the websocket but keep the session, so the client RESUMEs
 *   failNext("identify" | "resume", code = 4006)   the next one is refused with `code`
 *   tokenOverride          while set, VOICE_SERVER_UPDATE carries a token IDENTIFY will refuse (4004)
 *   issuedToken(guildId?), strayPackets, internalErrors, close()
 *   disconnectMember(userId) / reconnectMember(userId)   a member's own voice connection drops / returns
 *   dave: DaveControl      DAVE switches (see below)
 *
 * DAVE (on by default, as on Discord since March 2026; `startFakeVoice(d, { dave: false })` declines it)
 *   The fake is the MLS delivery service and external sender (ciphersuite 2, basic credentials); every
 *   other user in the bot's channel is a simulated DAVE member (a davey session) that commits, gets
 *   welcomed and decrypts the bot's frames; the session's decoded audio is what the members decrypted.
 *   voice.dave: enabled, minProtocolVersion (clients offering less: 4017), transitionTimeoutMs, refusals,
 *     configure(userId, { dave?: false, commits?: false }), corruptNext("welcome" | "commit", n),
 *     holdCommits (commits wait for session.dave.releaseCommits()),
 *     calls, current, reset()
 *   session.dave: DaveCall — protocolVersion, established, epoch, groupMembers(), member(userId)
 *     (SimMember: stats {decrypted, failed, passthrough}, departed), departed, transitions
 *     ({id, protocolVersion, at, epoch, members}), events, invalidReports, rejectedCommits,
 *     botKeyPackages, botCommits, botCommitsAnnounced, welcomesToBot, settled, sendGarbageProposals()
 *   PacketInfo: e2ee, decryptedBy, failedBy; VoiceSession: e2eeFrames, plainFrames, undecryptable,
 *     identifiedAt, firstE2eeAt
 *
 * VoiceSession
 *   guildId, channelId, userId, sessionId, token, ssrc, identify (raw d), selectProtocol (raw d), mode,
 *   maxDaveProtocolVersion, daveProtocolVersion (1 with DAVE, 0 declined or downgraded), speaking: {at, speaking}[],
 *   closed (no websocket now), ended (not resumable), endReason, closeCode, closeCodes, resumed, replayed,
 *   heartbeats, lastSeqAck, packets (audible Opus, silence excluded), silenceFrames, decryptFailures,
 *   inaudiblePackets (bot muted/suppressed/without SPEAK: Discord drops them), rejectedPackets,
 *   sequenceErrors, timestampErrors (step ≠ 960), nonceReuses, decodeErrors, keepalives,
 *   firstPacketAt (first audible audio packet), lastPacketAt (any packet), pcm(), durationMs(),
 *   segments(gapMs = 60): clips split at silence frames or arrival gaps > gapMs
 *
 * Validation follows Discord: IDENTIFY needs the guild, the bot, the bot's voice-state session id and
 * the latest issued token (4004 / 4006 otherwise); other ops before IDENTIFY 4003; unknown ops 4001;
 * SELECT PROTOCOL with an unoffered mode 4016, another protocol 4012; RESUME of an unknown or ended
 * session 4006; no heartbeat for two intervals (+250 ms) 4009; IDENTIFY without the required DAVE
 * version 4017; binary frames other than ops 26 and 28 4001. Only `?v=8` is served.
 */

export type { AudioSegment } from "./audio-track.ts";
export {
  FAKE_VOICE_CERT_PATH,
  FAKE_VOICE_KEY_PATH,
  fakeVoiceCertificate,
  trustFakeVoiceCertificate,
} from "./certificate.ts";
export { DaveControl, type DaveFault, type DaveOptions } from "./dave/control.ts";
export type { DaveCall, DaveEvent, ExecutedTransition, HeardFrame } from "./dave/delivery.ts";
export type { MemberSettings, MemberStats, SimMember } from "./dave/member.ts";
export { discoveryRequest, parseDiscoveryResponse } from "./ip-discovery.ts";
export {
  DEFAULT_MODES,
  MODE_AES_GCM,
  MODE_XCHACHA,
  SILENCE_FRAME,
  VOICE_CLOSE,
  VOICE_OPS,
} from "./protocol.ts";
export type { FailKind } from "./registry.ts";
export { decryptRtp, encryptRtp, parseRtpHeader, type RtpHeader, rtpHeader } from "./rtp.ts";
export {
  FakeVoice,
  type FakeVoiceEvents,
  type FakeVoiceOptions,
  startFakeVoice,
  type WaitForAudioOptions,
} from "./server.ts";
export type { PacketInfo, SpeakingEvent, VoiceSession } from "./session.ts";
export type { VoiceSocketRecord } from "./voice-socket.ts";
