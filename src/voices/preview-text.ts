import { voiceLanguage } from "./voice-catalog.ts";

/**
 * What a voice preview says: one short sentence in the voice's own language (a Japanese voice reading
 * English says little about how it sounds in Japanese). Short on purpose: previews are paid for once
 * per voice and model, and a member decides in a few seconds.
 */

const SAMPLES: Readonly<Record<string, string>> = {
  English: "Hello! This is how I sound. I can read your messages aloud.",
  Chinese: "你好！这就是我的声音，我可以为你朗读消息。",
  "Chinese (Mandarin)": "你好！这就是我的声音，我可以为你朗读消息。",
  Cantonese: "你好！呢個就係我嘅聲音，我可以幫你讀出訊息。",
  Japanese: "こんにちは！これが私の声です。メッセージを読み上げます。",
  Korean: "안녕하세요! 제 목소리는 이렇습니다. 메시지를 읽어 드릴게요.",
  Spanish: "¡Hola! Así suena mi voz. Puedo leer tus mensajes en voz alta.",
  Portuguese: "Olá! Esta é a minha voz. Posso ler as suas mensagens em voz alta.",
  French: "Bonjour ! Voici ma voix. Je peux lire vos messages à voix haute.",
  German: "Hallo! So klingt meine Stimme. Ich kann deine Nachrichten vorlesen.",
  Indonesian: "Halo! Beginilah suara saya. Saya bisa membacakan pesanmu.",
  Russian: "Привет! Так звучит мой голос. Я могу читать ваши сообщения вслух.",
  Italian: "Ciao! Questa è la mia voce. Posso leggere i tuoi messaggi ad alta voce.",
  Arabic: "مرحبًا! هذا هو صوتي. يمكنني قراءة رسائلك بصوت عالٍ.",
  Turkish: "Merhaba! Sesim böyle. Mesajlarını yüksek sesle okuyabilirim.",
  Ukrainian: "Привіт! Так звучить мій голос. Я можу читати ваші повідомлення вголос.",
  Dutch: "Hallo! Zo klinkt mijn stem. Ik kan je berichten voorlezen.",
  Vietnamese: "Xin chào! Đây là giọng của tôi. Tôi có thể đọc tin nhắn của bạn.",
  Thai: "สวัสดี! นี่คือเสียงของฉัน ฉันอ่านข้อความให้คุณฟังได้",
  Polish: "Cześć! Tak brzmi mój głos. Mogę czytać twoje wiadomości na głos.",
  Romanian: "Bună! Așa sună vocea mea. Pot să-ți citesc mesajele cu voce tare.",
  Greek: "Γεια σου! Έτσι ακούγεται η φωνή μου. Μπορώ να διαβάζω τα μηνύματά σου.",
  Czech: "Ahoj! Takhle zní můj hlas. Mohu ti číst zprávy nahlas.",
  Finnish: "Hei! Tältä ääneni kuulostaa. Voin lukea viestisi ääneen.",
  Hindi: "नमस्ते! मेरी आवाज़ ऐसी है। मैं आपके संदेश पढ़कर सुना सकती हूँ।",
};

/** The preview sentence for a voice: its language's, English for multilingual and unknown ones. */
export function previewText(voiceId: string): string {
  const language = voiceLanguage(voiceId);
  return SAMPLES[language] ?? SAMPLES[language.replace(/ \(.*\)$/, "")] ?? SAMPLES.English!;
}
