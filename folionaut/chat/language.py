"""Which language a visitor wrote in, well enough to say in it that the answer comes in English.

Scripts decide first (kana → Japanese, Hangul → Korean, Han → Chinese,
Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai); Latin-script questions are
scored on a few very common words and letters of each language we can name.
A short question with no telling word stays English: saying "I answer in
English" to an English speaker is worse than saying nothing.
"""

from __future__ import annotations

import re

__all__ = ["NOTES", "detect_language", "note_for"]

_STOPWORDS: dict[str, frozenset[str]] = {
    "es": frozenset("el la los las de del que qué y en un una es son por para con su sus cómo como dónde donde "
                    "cuál cual quién quien tiene ha sido sobre qué cuáles trabaja vive estudió proyectos habilidades "
                    "puedo contactar hola gracias".split()),
    "fr": frozenset("le la les des du de et est sont un une pour avec sur que qui quels quelles quel quelle où "
                    "comment ses son sa elle il a fait travaille habite projets compétences bonjour merci "
                    "peux contacter".split()),
    "de": frozenset("der die das und ist sind ein eine einen mit für auf von wie wo was wer welche ihre seine "
                    "hat arbeitet wohnt studiert projekte fähigkeiten kenntnisse hallo danke kann ich sie er "
                    "kontaktieren".split()),
    "pt": frozenset("o os as de do da dos das e é são um uma para com por sua seu suas seus como onde qual "
                    "quais quem tem trabalha mora estudou projetos habilidades olá obrigado obrigada posso "
                    "contatar ela ele".split()),
    "it": frozenset("il lo la gli le di del della e è sono un una per con su suoi sue suo sua come dove quale "
                    "quali chi ha lavora vive studiato progetti competenze ciao grazie posso contattare lei "
                    "lui".split()),
    "nl": frozenset("de het een en is zijn van voor met op hoe waar wat wie welke haar zijn heeft werkt woont "
                    "gestudeerd projecten vaardigheden hallo bedankt kan ik contact zij hij".split()),
}
# Letters that only some of the languages use.
_LETTERS = {"es": "ñ¿¡", "de": "ß", "pt": "ãõ", "fr": "œ", "it": "", "nl": "ĳ"}
# Words English shares with them ("a", "me", "on", "is"…) are weak; these English words are strong.
_ENGLISH = frozenset("the what who where which how does did is are her his their she he about tell me you "
                     "projects skills experience".split())

_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)

#: A short note in each language we detect: the answer that follows is in English.
NOTES: dict[str, str] = {
    "es": "Nota: solo puedo responder en inglés, pero esto es lo que encontré.",
    "fr": "Remarque : je ne peux répondre qu'en anglais, mais voici ce que j'ai trouvé.",
    "de": "Hinweis: Ich kann nur auf Englisch antworten, aber das habe ich gefunden.",
    "pt": "Nota: só posso responder em inglês, mas foi isto que encontrei.",
    "it": "Nota: posso rispondere solo in inglese, ma ecco cosa ho trovato.",
    "nl": "Let op: ik kan alleen in het Engels antwoorden, maar dit heb ik gevonden.",
    "ja": "ご質問ありがとうございます。英語でお答えします。",
    "ko": "질문 감사합니다. 영어로 답변드립니다.",
    "zh": "感谢您的提问。我将用英语回答。",
    "ru": "Спасибо за вопрос. Я отвечу на английском.",
    "el": "Ευχαριστώ για την ερώτηση. Θα απαντήσω στα αγγλικά.",
    "ar": "شكرًا على سؤالك. سأجيب باللغة الإنجليزية.",
    "he": "תודה על השאלה. אענה באנגלית.",
    "hi": "आपके प्रश्न के लिए धन्यवाद। मैं अंग्रेज़ी में उत्तर दूँगा।",
    "th": "ขอบคุณสำหรับคำถาม ฉันจะตอบเป็นภาษาอังกฤษ",
}

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str) -> str:
    """An ISO 639-1 code: "en" unless the text clearly is one of the languages we can name."""
    for code, script in _SCRIPTS:
        if script.search(text):
            return code
    lowered = text.lower()
    tokens = _WORD.findall(lowered)
    if not tokens:
        return "en"
    english = sum(token in _ENGLISH for token in tokens)
    best, best_score = "en", 0.0
    for code, stopwords in _STOPWORDS.items():
        score = float(sum(token in stopwords for token in tokens))
        score += 2 * sum(char in _LETTERS[code] for char in lowered)
        if score > best_score:
            best, best_score = code, score
    # A language wins with two telling signs more than English has, or one in a very short question.
    needed = 1 if len(tokens) <= 3 else 2
    if best != "en" and best_score >= needed and best_score > english:
        return best
    return "en"


def note_for(language: str) -> str:
    return NOTES.get(language, "")
