/** Numbers of Discord's voice gateway v8 and of its RTP stream, as the platform documents them. */

export const VOICE_GATEWAY_VERSION = "8";

export const VOICE_OPS = {
  Identify: 0,
  SelectProtocol: 1,
  Ready: 2,
  Heartbeat: 3,
  SessionDescription: 4,
  Speaking: 5,
  HeartbeatAck: 6,
  Resume: 7,
  Hello: 8,
  Resumed: 9,
  ClientsConnect: 11,
  ClientDisconnect: 13,
  DavePrepareTransition: 21,
  DaveExecuteTransition: 22,
  DaveTransitionReady: 23,
  DavePrepareEpoch: 24,
  DaveMlsExternalSender: 25,
  DaveMlsKeyPackage: 26,
  DaveMlsProposals: 27,
  DaveMlsCommitWelcome: 28,
  DaveMlsAnnounceCommitTransition: 29,
  DaveMlsWelcome: 30,
  DaveMlsInvalidCommitWelcome: 31,
} as const;

export const VOICE_CLOSE = {
  UnknownOpcode: 4001,
  FailedToDecode: 4002,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  SessionNoLongerValid: 4006,
  SessionTimeout: 4009,
  ServerNotFound: 4011,
  UnknownProtocol: 4012,
  Disconnected: 4014,
  VoiceServerCrashed: 4015,
  UnknownEncryptionMode: 4016,
  /** The client does not offer the DAVE protocol version the call requires. */
  DaveRequired: 4017,
  BadRequest: 4020,
} as const;

export const MODE_AES_GCM = "aead_aes256_gcm_rtpsize";
export const MODE_XCHACHA = "aead_xchacha20_poly1305_rtpsize";
/** Discord lists AES-GCM first; clients pick the first offered mode they support. */
export const DEFAULT_MODES: readonly string[] = [MODE_AES_GCM, MODE_XCHACHA];

/** Default HELLO interval of Discord's voice servers. */
export const DEFAULT_VOICE_HEARTBEAT_MS = 13_750;

export const OPUS_RATE = 48_000;
export const OPUS_CHANNELS = 2;
/** One 20 ms Opus frame: the RTP timestamp step and the samples per channel it decodes to. */
export const FRAME_SAMPLES = 960;
export const RTP_PAYLOAD_TYPE_OPUS = 0x78;

/** The Opus frame clients send after a clip so that receivers stop interpolating. */
export const SILENCE_FRAME: Buffer = Buffer.from([0xf8, 0xff, 0xfe]);

export const DISCOVERY_PACKET_SIZE = 74;
