/**
 * The system voices the fake knows, copied with their odd spellings on purpose
 * (`English_Trustworth_Man`, `French_Female_News Anchor` with a space, `Cantonese_ProfessionalHost (F)`),
 * so clients that "tidy" ids break here as they would against MiniMax.
 */

export interface SystemVoice {
  voice_id: string;
  voice_name?: string;
  description?: string[];
}

const LEGACY = [
  "Wise_Woman",
  "Friendly_Person",
  "Inspirational_girl",
  "Deep_Voice_Man",
  "Calm_Woman",
  "Casual_Guy",
  "Lively_Girl",
  "Patient_Man",
  "Young_Knight",
  "Determined_Man",
  "Lovely_Girl",
  "Decent_Boy",
  "Imposing_Manner",
  "Elegant_Man",
  "Abbess",
  "Sweet_Girl_2",
  "Exuberant_Girl",
];

const ENGLISH = [
  "English_expressive_narrator",
  "English_radiant_girl",
  "English_magnetic_voiced_man",
  "English_compelling_lady1",
  "English_Aussie_Bloke",
  "English_captivating_female1",
  "English_Upbeat_Woman",
  "English_Trustworth_Man",
  "English_CalmWoman",
  "English_UpsetGirl",
  "English_Gentle-voiced_man",
  "English_Whispering_girl",
  "English_Diligent_Man",
  "English_Graceful_Lady",
  "English_ReservedYoungMan",
  "English_PlayfulGirl",
  "English_ManWithDeepVoice",
  "English_MaturePartner",
  "English_FriendlyPerson",
  "English_MatureBoss",
  "English_Debator",
  "English_LovelyGirl",
  "English_Steadymentor",
  "English_Deep-VoicedGentleman",
  "English_Wiselady",
  "English_CaptivatingStoryteller",
  "English_DecentYoungMan",
  "English_SentimentalLady",
  "English_ImposingManner",
  "English_SadTeen",
  "English_PassionateWarrior",
  "English_WiseScholar",
  "English_Soft-spokenGirl",
  "English_SereneWoman",
  "English_ConfidentWoman",
  "English_PatientMan",
  "English_Comedian",
  "English_BossyLeader",
  "English_Strong-WilledBoy",
  "English_StressedLady",
  "English_AssertiveQueen",
  "English_AnimeCharacter",
  "English_Jovialman",
  "English_WhimsicalGirl",
  "English_Kind-heartedGirl",
  "English_Insightful_Speaker",
  "English_Persuasive_Man",
  "English_Lucky_Robot",
];

const MANDARIN = [
  "male-qn-qingse",
  "male-qn-jingying",
  "male-qn-badao",
  "male-qn-daxuesheng",
  "female-shaonv",
  "female-yujie",
  "female-chengshu",
  "female-tianmei",
  "presenter_male",
  "presenter_female",
  "audiobook_male_1",
  "audiobook_female_1",
  "clever_boy",
  "cute_boy",
  "lovely_girl",
  "cartoon_pig",
  "Arrogant_Miss",
  "Robot_Armor",
  "Chinese (Mandarin)_Reliable_Executive",
  "Chinese (Mandarin)_News_Anchor",
  "Chinese (Mandarin)_Mature_Woman",
  "Chinese (Mandarin)_Gentleman",
  "Chinese (Mandarin)_Warm_Bestie",
  "Chinese (Mandarin)_Radio_Host",
];

const OTHER = [
  "Cantonese_ProfessionalHost (F)",
  "Cantonese_GentleLady",
  "Cantonese_ProfessionalHost (M)",
  "Cantonese_PlayfulMan",
  "Santa_Claus",
  "Grinch",
  "Charming_Lady",
  "Japanese_IntellectualSenior",
  "Japanese_DecisivePrincess",
  "Japanese_LoyalKnight",
  "Japanese_KindLady",
  "Japanese_Whisper_Belle",
  "Korean_SweetGirl",
  "Korean_CheerfulBoyfriend",
  "Korean_CalmLady",
  "Spanish_Narrator",
  "Spanish_SereneWoman",
  "Portuguese_Narrator",
  "French_Male_Speech_New",
  "French_Female_News Anchor",
  "French_CasualMan",
  "German_FriendlyMan",
  "German_SweetLady",
  "Russian_BrightHeroine",
  "Russian_ReliableMan",
  "Italian_Narrator",
  "Arabic_CalmWoman",
  "Turkish_CalmWoman",
  "Ukrainian_WiseScholar",
  "Dutch_kindhearted_girl",
  "Vietnamese_kindhearted_girl",
  "Thai_female_1_sample1",
  "Polish_male_1_sample4",
  "Romanian_female_2_sample1",
  "Greek_female_1_sample1",
  "czech_male_1_v1",
  "finnish_female_4_v1",
  "hindi_female_1_v2",
];

/** Readable-enough names: "English_CalmWoman" → "Calm Woman" (MiniMax's are hand-written, often Chinese). */
function nameFor(id: string): string {
  const base =
    id.includes("_") && /^[A-Z][a-z]+(?: \([^)]*\))?_/.test(id) ? id.slice(id.indexOf("_") + 1) : id;
  return base
    .replace(/[_-]+/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .trim();
}

function entry(id: string): SystemVoice {
  const language = LEGACY.includes(id) ? "multilingual" : (id.match(/^([A-Z][a-z]+)/)?.[1] ?? "Chinese");
  return { voice_id: id, voice_name: nameFor(id), description: [`${language} system voice.`] };
}

export const SYSTEM_VOICES: readonly SystemVoice[] = [...LEGACY, ...ENGLISH, ...MANDARIN, ...OTHER].map(
  entry,
);

export function voiceCatalog(override?: (string | SystemVoice)[]): SystemVoice[] {
  if (!override) return [...SYSTEM_VOICES];
  return override.map((v) => (typeof v === "string" ? entry(v) : v));
}
