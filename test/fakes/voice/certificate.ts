import { readFileSync } from "node:fs";
import tls from "node:tls";
import { fileURLToPath } from "node:url";

/**
 * The voice server's self-signed certificate (subjectAltName IP:127.0.0.1 and DNS:localhost, valid until
 * 2126). @discordjs/voice always dials `wss://`, so clients must trust it: in this process with
 * `trustFakeVoiceCertificate()`, in a child process with `NODE_EXTRA_CA_CERTS=FAKE_VOICE_CERT_PATH`.
 * Regenerate: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 *   -keyout key.pem -out cert.pem -subj /CN=fake-discord-voice
 *   -addext subjectAltName=IP:127.0.0.1,DNS:localhost -addext extendedKeyUsage=serverAuth
 */

export const FAKE_VOICE_CERT_PATH: string = fileURLToPath(new URL("./cert.pem", import.meta.url));
export const FAKE_VOICE_KEY_PATH: string = fileURLToPath(new URL("./key.pem", import.meta.url));

export function fakeVoiceCertificate(): { cert: string; key: string } {
  return { cert: readFileSync(FAKE_VOICE_CERT_PATH, "utf8"), key: readFileSync(FAKE_VOICE_KEY_PATH, "utf8") };
}

/** Adds the certificate to this process's default CA list (Node ≥ 24.5); calling it again is a no-op. */
export function trustFakeVoiceCertificate(): void {
  const { cert } = fakeVoiceCertificate();
  const current = tls.getCACertificates("default");
  if (current.some((pem) => pem.trim() === cert.trim())) return;
  tls.setDefaultCACertificates([...current, cert]);
}
