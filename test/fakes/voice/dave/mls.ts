import {
  type CiphersuiteImpl,
  decodeMlsMessage,
  encodeExternalSender,
  encodeMlsMessage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type KeyPackage,
  type MLSMessage,
  nobleCryptoProvider,
  type Proposal,
  proposeExternal,
  type Welcome,
} from "ts-mls";
import { makeProposalRef } from "ts-mls/authenticatedContent.js";
import { decodeKeyPackage, makeKeyPackageRef, verifyKeyPackage } from "ts-mls/keyPackage.js";
import { decodeWelcome, encodeWelcome } from "ts-mls/welcome.js";
import { mlsVector, readMlsVarint } from "./framing.ts";

/**
 * The MLS half of the voice gateway's delivery service, for DAVE protocol version 1: ciphersuite 2
 * (MLS_128_DHKEMP256_AES128GCM_SHA256_P256), basic credentials whose identity is the big-endian
 * 64-bit user id, and the gateway as the group's one external sender. ts-mls signs the external
 * proposals and parses what clients send; the gateway never holds group secrets.
 */

export const DAVE_CIPHERSUITE = "MLS_128_DHKEMP256_AES128GCM_SHA256_P256" as const;
export const MAX_LIFETIME = 2n ** 64n - 1n;

let suite: Promise<CiphersuiteImpl> | undefined;
export function ciphersuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(DAVE_CIPHERSUITE), nobleCryptoProvider);
  return suite;
}

/** The big-endian u64 of a snowflake: both a member's credential identity and the group id (channel). */
export function snowflakeBytes(id: string): Uint8Array {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(id));
  return new Uint8Array(out);
}

export function snowflakeFrom(bytes: Uint8Array): string | undefined {
  if (bytes.length !== 8) return undefined;
  return Buffer.from(bytes).readBigUInt64BE().toString();
}

export interface ExternalSenderKey {
  publicKey: Uint8Array;
  signKey: Uint8Array;
  /** The encoded ExternalSender struct: op 25's payload and the group extension's only entry. */
  encoded: Uint8Array;
}

export async function createExternalSender(identity: string): Promise<ExternalSenderKey> {
  const cs = await ciphersuite();
  const { publicKey, signKey } = await cs.signature.keygen();
  const encoded = encodeExternalSender({
    signaturePublicKey: publicKey,
    credential: { credentialType: "basic", identity: snowflakeBytes(identity) },
  });
  return { publicKey, signKey, encoded };
}

export type KeyPackageCheck =
  | { ok: true; keyPackage: KeyPackage; ref: Uint8Array }
  | { ok: false; reason: string };

/**
 * A key package as clients send it in op 26 (libdave and davey send the bare KeyPackage; an
 * MLSMessage-wrapped one is accepted too), validated as the voice gateway does: ciphersuite 2, a basic
 * credential naming the authenticated user, the maximal lifetime, and a valid signature.
 */
export async function checkKeyPackage(bytes: Uint8Array, userId: string): Promise<KeyPackageCheck> {
  const cs = await ciphersuite();
  let keyPackage: KeyPackage | undefined;
  const bare = safe(() => decodeKeyPackage(bytes, 0));
  if (bare && bare[1] === bytes.length) keyPackage = bare[0];
  else {
    const wrapped = safe(() => decodeMlsMessage(bytes, 0));
    if (wrapped && wrapped[1] === bytes.length && wrapped[0].wireformat === "mls_key_package") {
      keyPackage = wrapped[0].keyPackage;
    }
  }
  if (!keyPackage) return { ok: false, reason: "not a key package" };
  if (keyPackage.cipherSuite !== DAVE_CIPHERSUITE) return { ok: false, reason: "wrong ciphersuite" };
  const credential = keyPackage.leafNode.credential;
  if (credential.credentialType !== "basic") return { ok: false, reason: "not a basic credential" };
  if (snowflakeFrom(credential.identity) !== userId)
    return { ok: false, reason: "credential names another user" };
  const source = keyPackage.leafNode;
  if (source.leafNodeSource !== "key_package")
    return { ok: false, reason: "leaf node is not from a key package" };
  if (source.lifetime.notBefore !== 0n || source.lifetime.notAfter !== MAX_LIFETIME) {
    return { ok: false, reason: "lifetime is not the maximal span" };
  }
  if (!(await verifyKeyPackage(keyPackage, cs.signature))) return { ok: false, reason: "bad signature" };
  return { ok: true, keyPackage, ref: await makeKeyPackageRef(keyPackage, cs.hash) };
}

export interface GroupView {
  groupId: Uint8Array;
  epoch: bigint;
  externalSender: ExternalSenderKey;
}

export interface SignedProposal {
  message: MLSMessage;
  encoded: Uint8Array;
  ref: Uint8Array;
}

/** An Add or Remove signed by the external sender for the group's current epoch. */
export async function externalProposal(group: GroupView, proposal: Proposal): Promise<SignedProposal> {
  const cs = await ciphersuite();
  // proposeExternal reads only the context's id, epoch, version and external_senders extension:
  // external senders sign without the group context (RFC 9420 §6.1).
  const groupContext = {
    version: "mls10" as const,
    cipherSuite: DAVE_CIPHERSUITE,
    groupId: group.groupId,
    epoch: group.epoch,
    treeHash: new Uint8Array(),
    confirmedTranscriptHash: new Uint8Array(),
    extensions: [{ extensionType: "external_senders" as const, extensionData: group.externalSender.encoded }],
  };
  const message = await proposeExternal(
    { groupContext } as Parameters<typeof proposeExternal>[0],
    proposal,
    group.externalSender.publicKey,
    group.externalSender.signKey,
    cs,
  );
  if (message.wireformat !== "mls_public_message") throw new Error("external proposal is not public");
  const ref = await makeProposalRef(
    {
      wireformat: "mls_public_message",
      content: message.publicMessage.content,
      auth: message.publicMessage.auth,
    },
    cs.hash,
  );
  return { message, encoded: encodeMlsMessage(message), ref };
}

/** op 27's body: operation type, then a vector of MLSMessages (append) or of ProposalRefs (revoke). */
export function proposalsPayload(kind: "append" | "revoke", items: Uint8Array[]): Buffer {
  const body = kind === "append" ? Buffer.concat(items) : Buffer.concat(items.map((ref) => mlsVector(ref)));
  return Buffer.concat([Buffer.from([kind === "append" ? 0 : 1]), mlsVector(body)]);
}

export interface ParsedCommit {
  groupId: Uint8Array;
  epoch: bigint;
  senderLeaf: number;
  refs: Uint8Array[];
  /** Proposals carried by value: DAVE commits must carry references only. */
  inlineProposals: number;
  /** The committer's new leaf credential identity (user id), when the commit carries a path. */
  pathIdentity?: string;
  /** Bytes of the commit MLSMessage at the front of the payload. */
  length: number;
}

export function parseCommit(bytes: Uint8Array): ParsedCommit | undefined {
  const decoded = safe(() => decodeMlsMessage(bytes, 0));
  if (!decoded) return undefined;
  const [message, length] = decoded;
  if (message.wireformat !== "mls_public_message") return undefined;
  const { content } = message.publicMessage;
  if (content.contentType !== "commit" || content.sender.senderType !== "member") return undefined;
  const refs: Uint8Array[] = [];
  let inlineProposals = 0;
  for (const p of content.commit.proposals) {
    if (p.proposalOrRefType === "reference") refs.push(p.reference);
    else inlineProposals += 1;
  }
  const path = content.commit.path;
  const credential = path?.leafNode.credential;
  const pathIdentity =
    credential?.credentialType === "basic" ? snowflakeFrom(credential.identity) : undefined;
  return {
    groupId: content.groupId,
    epoch: content.epoch,
    senderLeaf: content.sender.leafIndex,
    refs,
    inlineProposals,
    length,
    ...(path ? { pathIdentity: pathIdentity ?? "(not a basic credential)" } : {}),
  };
}

export function parseWelcome(bytes: Uint8Array): Welcome | undefined {
  const decoded = safe(() => decodeWelcome(bytes, 0));
  if (!decoded || decoded[1] !== bytes.length) return undefined;
  return decoded[0];
}

/** The Welcome cut down to the secrets encrypted for one new member, as op 30 delivers it. */
export function welcomeFor(welcome: Welcome, keyPackageRef: Uint8Array): Uint8Array | undefined {
  const secrets = welcome.secrets.filter((s) => Buffer.from(s.newMember).equals(Buffer.from(keyPackageRef)));
  if (secrets.length !== 1) return undefined;
  return encodeWelcome({ ...welcome, secrets });
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

export { readMlsVarint };

function safe<T>(fn: () => T | undefined): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
