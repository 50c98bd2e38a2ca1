"""espeak-ng speech in languages that both espeak-ng and Whisper know, for benchmarks/whisper_windows.py.

Three sentences per language, written for this benchmark (everyday topics, no shared proper names, so a sentence
cannot be recognised by a name). Audio is synthesised at run time and cached outside the repository
(``${LANGSPAN_CACHE:-~/.cache/langspan}/bench-speech``): nothing here is committed but the text.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000

# Whisper code → (espeak-ng voice, sentences).
CORPUS: dict[str, tuple[str, list[str]]] = {
    "en": (
        "en-us",
        [
            "The train to the coast leaves every morning at half past seven from the old station.",
            "My neighbour grows tomatoes and beans in a small garden behind her house.",
            "We should buy more bread and cheese before the shops close this evening.",
        ],
    ),
    "de": (
        "de",
        [
            "Der Zug an die Küste fährt jeden Morgen um halb acht vom alten Bahnhof ab.",
            "Meine Nachbarin baut in einem kleinen Garten hinter ihrem Haus Tomaten und Bohnen an.",
            "Wir sollten noch Brot und Käse kaufen, bevor die Geschäfte heute Abend schließen.",
        ],
    ),
    "es": (
        "es",
        [
            "El tren a la costa sale todas las mañanas a las siete y media de la estación vieja.",
            "Mi vecina cultiva tomates y judías en un pequeño huerto detrás de su casa.",
            "Deberíamos comprar más pan y queso antes de que cierren las tiendas esta tarde.",
        ],
    ),
    "fr": (
        "fr-fr",
        [
            "Le train pour la côte part chaque matin à sept heures et demie de la vieille gare.",
            "Ma voisine cultive des tomates et des haricots dans un petit jardin derrière sa maison.",
            "Nous devrions acheter du pain et du fromage avant que les magasins ferment ce soir.",
        ],
    ),
    "it": (
        "it",
        [
            "Il treno per la costa parte ogni mattina alle sette e mezza dalla vecchia stazione.",
            "La mia vicina coltiva pomodori e fagioli in un piccolo orto dietro la sua casa.",
            "Dovremmo comprare altro pane e formaggio prima che i negozi chiudano stasera.",
        ],
    ),
    "pt": (
        "pt-br",
        [
            "O trem para o litoral sai todas as manhãs às sete e meia da estação antiga.",
            "Minha vizinha planta tomates e feijão numa pequena horta atrás da casa dela.",
            "Devíamos comprar mais pão e queijo antes que as lojas fechem hoje à noite.",
        ],
    ),
    "nl": (
        "nl",
        [
            "De trein naar de kust vertrekt elke ochtend om half acht van het oude station.",
            "Mijn buurvrouw kweekt tomaten en bonen in een kleine tuin achter haar huis.",
            "We moeten nog brood en kaas kopen voordat de winkels vanavond dichtgaan.",
        ],
    ),
    "pl": (
        "pl",
        [
            "Pociąg nad morze odjeżdża codziennie rano o wpół do ósmej ze starego dworca.",
            "Moja sąsiadka uprawia pomidory i fasolę w małym ogródku za swoim domem.",
            "Powinniśmy kupić więcej chleba i sera, zanim sklepy zamkną się dziś wieczorem.",
        ],
    ),
    "ru": (
        "ru",
        [
            "Поезд к морю отправляется каждое утро в половине восьмого со старого вокзала.",
            "Моя соседка выращивает помидоры и фасоль в маленьком огороде за своим домом.",
            "Нам нужно купить ещё хлеба и сыра, пока магазины не закрылись сегодня вечером.",
        ],
    ),
    "cs": (
        "cs",
        [
            "Vlak k moři odjíždí každé ráno v půl osmé ze starého nádraží.",
            "Moje sousedka pěstuje rajčata a fazole na malé zahradě za svým domem.",
            "Měli bychom koupit ještě chléb a sýr, než dnes večer zavřou obchody.",
        ],
    ),
    "sv": (
        "sv",
        [
            "Tåget till kusten går varje morgon klockan halv åtta från den gamla stationen.",
            "Min granne odlar tomater och bönor i en liten trädgård bakom sitt hus.",
            "Vi borde köpa mer bröd och ost innan affärerna stänger i kväll.",
        ],
    ),
    "fi": (
        "fi",
        [
            "Juna rannikolle lähtee joka aamu puoli kahdeksalta vanhalta asemalta.",
            "Naapurini kasvattaa tomaatteja ja papuja pienessä puutarhassa talonsa takana.",
            "Meidän pitäisi ostaa lisää leipää ja juustoa ennen kuin kaupat sulkeutuvat illalla.",
        ],
    ),
    "tr": (
        "tr",
        [
            "Sahile giden tren her sabah yedi buçukta eski istasyondan kalkıyor.",
            "Komşum evinin arkasındaki küçük bahçede domates ve fasulye yetiştiriyor.",
            "Dükkanlar bu akşam kapanmadan önce biraz daha ekmek ve peynir almalıyız.",
        ],
    ),
    "el": (
        "el",
        [
            "Το τρένο για την ακτή φεύγει κάθε πρωί στις επτάμισι από τον παλιό σταθμό.",
            "Η γειτόνισσά μου καλλιεργεί ντομάτες και φασόλια σε έναν μικρό κήπο πίσω από το σπίτι της.",
            "Πρέπει να αγοράσουμε κι άλλο ψωμί και τυρί πριν κλείσουν τα μαγαζιά απόψε.",
        ],
    ),
    "hu": (
        "hu",
        [
            "A tengerpartra induló vonat minden reggel fél nyolckor indul a régi állomásról.",
            "A szomszédom paradicsomot és babot termeszt egy kis kertben a háza mögött.",
            "Még kenyeret és sajtot kellene vennünk, mielőtt ma este bezárnak az üzletek.",
        ],
    ),
    "ro": (
        "ro",
        [
            "Trenul spre litoral pleacă în fiecare dimineață la șapte și jumătate din gara veche.",
            "Vecina mea cultivă roșii și fasole într-o grădină mică din spatele casei.",
            "Ar trebui să mai cumpărăm pâine și brânză înainte să se închidă magazinele diseară.",
        ],
    ),
    "uk": (
        "uk",
        [
            "Потяг до моря відправляється щоранку о пів на восьму зі старого вокзалу.",
            "Моя сусідка вирощує помідори та квасолю в невеликому городі за своїм будинком.",
            "Нам треба купити ще хліба і сиру, поки крамниці не зачинилися сьогодні ввечері.",
        ],
    ),
    "id": (
        "id",
        [
            "Kereta ke pantai berangkat setiap pagi pukul setengah delapan dari stasiun lama.",
            "Tetangga saya menanam tomat dan kacang di kebun kecil di belakang rumahnya.",
            "Kita harus membeli roti dan keju lagi sebelum toko tutup malam ini.",
        ],
    ),
    "vi": (
        "vi",
        [
            "Chuyến tàu ra biển khởi hành mỗi sáng lúc bảy giờ rưỡi từ nhà ga cũ.",
            "Bà hàng xóm của tôi trồng cà chua và đậu trong khu vườn nhỏ sau nhà.",
            "Chúng ta nên mua thêm bánh mì và phô mai trước khi các cửa hàng đóng cửa tối nay.",
        ],
    ),
    "zh": (
        "cmn",
        [
            "去海边的火车每天早上七点半从老车站出发。",
            "我的邻居在她家后面的小花园里种西红柿和豆子。",
            "我们应该在商店今晚关门之前再买些面包和奶酪。",
        ],
    ),
    "hi": (
        "hi",
        [
            "समुद्र तट जाने वाली ट्रेन हर सुबह साढ़े सात बजे पुराने स्टेशन से चलती है।",
            "मेरी पड़ोसन अपने घर के पीछे एक छोटे से बगीचे में टमाटर और सेम उगाती है।",
            "हमें आज शाम दुकानें बंद होने से पहले और रोटी और पनीर खरीद लेना चाहिए।",
        ],
    ),
    "ca": (
        "ca",
        [
            "El tren cap a la costa surt cada matí a dos quarts de vuit de l'estació vella.",
            "La meva veïna cultiva tomàquets i mongetes en un hortet darrere de casa seva.",
            "Hauríem de comprar més pa i formatge abans que tanquin les botigues aquest vespre.",
        ],
    ),
    "da": (
        "da",
        [
            "Toget til kysten kører hver morgen klokken halv otte fra den gamle station.",
            "Min nabo dyrker tomater og bønner i en lille have bag sit hus.",
            "Vi burde købe mere brød og ost, før butikkerne lukker i aften.",
        ],
    ),
    "ko": (
        "ko",
        [
            "바닷가로 가는 기차는 매일 아침 일곱 시 반에 옛 역에서 출발합니다.",
            "제 이웃은 집 뒤의 작은 정원에서 토마토와 콩을 기릅니다.",
            "오늘 저녁 가게들이 문을 닫기 전에 빵과 치즈를 더 사야 합니다.",
        ],
    ),
    "sk": (
        "sk",
        [
            "Vlak k moru odchádza každé ráno o pol ôsmej zo starej stanice.",
            "Moja suseda pestuje paradajky a fazuľu v malej záhrade za svojím domom.",
            "Mali by sme kúpiť ešte chlieb a syr, kým dnes večer nezatvoria obchody.",
        ],
    ),
    "hr": (
        "hr",
        [
            "Vlak za obalu polazi svako jutro u pola osam sa starog kolodvora.",
            "Moja susjeda uzgaja rajčice i grah u malom vrtu iza svoje kuće.",
            "Trebali bismo kupiti još kruha i sira prije nego što se trgovine večeras zatvore.",
        ],
    ),
    "af": (
        "af",
        [
            "Die trein na die kus vertrek elke oggend om halfagt van die ou stasie af.",
            "My buurvrou kweek tamaties en boontjies in 'n klein tuintjie agter haar huis.",
            "Ons moet nog brood en kaas koop voordat die winkels vanaand toemaak.",
        ],
    ),
    "sw": (
        "sw",
        [
            "Treni ya kwenda pwani huondoka kila asubuhi saa moja na nusu kutoka kituo cha zamani.",
            "Jirani yangu hupanda nyanya na maharagwe katika bustani ndogo nyuma ya nyumba yake.",
            "Tunapaswa kununua mkate na jibini zaidi kabla maduka hayajafungwa jioni hii.",
        ],
    ),
    "ms": (
        "ms",
        [
            "Kereta api ke pantai bertolak setiap pagi pada pukul tujuh setengah dari stesen lama.",
            "Jiran saya menanam tomato dan kacang di kebun kecil di belakang rumahnya.",
            "Kita patut membeli lebih banyak roti dan keju sebelum kedai ditutup malam ini.",
        ],
    ),
    "ja": (
        "ja",
        [
            "うみへいくでんしゃは、まいあさしちじはんに、ふるいえきからでます。",
            "となりのひとは、いえのうしろのちいさなにわで、トマトとまめをそだてています。",
            "こんばん、おみせがしまるまえに、パンとチーズをもうすこしかいましょう。",
        ],
    ),
    "bg": (
        "bg",
        [
            "Влакът за морето тръгва всяка сутрин в седем и половина от старата гара.",
            "Моята съседка отглежда домати и боб в малка градина зад къщата си.",
            "Трябва да купим още хляб и сирене, преди магазините да затворят тази вечер.",
        ],
    ),
    "lv": (
        "lv",
        [
            "Vilciens uz jūrmalu katru rītu atiet pusastoņos no vecās stacijas.",
            "Mana kaimiņiene savā mazajā dārzā aiz mājas audzē tomātus un pupas.",
            "Mums vajadzētu nopirkt vēl maizi un sieru, pirms veikali šovakar aizveras.",
        ],
    ),
    "sl": (
        "sl",
        [
            "Vlak proti obali odpelje vsako jutro ob pol osmih s stare postaje.",
            "Moja soseda goji paradižnik in fižol na majhnem vrtu za svojo hišo.",
            "Kupiti bi morali še kruh in sir, preden se trgovine nocoj zaprejo.",
        ],
    ),
}


def cache_dir() -> Path:
    base = os.environ.get("LANGSPAN_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "langspan"
    )
    return Path(base) / "bench-speech"


def speak(text: str, voice: str) -> np.ndarray:
    """One sentence as 16 kHz mono float32, cached by (voice, text, espeak-ng version)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is not installed (apt-get install espeak-ng; make setup does it as root)")
    key = hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()[:20]
    path = cache_dir() / f"{key}.npy"
    if path.is_file():
        return np.load(path)
    result = subprocess.run([espeak, "-v", voice, "--stdout", text], check=True, capture_output=True)
    with wave.open(io.BytesIO(result.stdout)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    audio = np.interp(np.arange(0, len(samples) - 1, rate / SAMPLE_RATE), np.arange(len(samples)), samples)
    audio = _trim(audio.astype(np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, audio)
    return audio


def _trim(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cut espeak's leading and trailing silence so that pauses are only where the benchmark puts them."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def language_clip(code: str, gap: float = 0.3) -> np.ndarray:
    """All sentences of one language, joined with short pauses."""
    voice, sentences = CORPUS[code]
    silence = np.zeros(int(gap * SAMPLE_RATE), dtype=np.float32)
    parts = []
    for sentence in sentences:
        parts += [speak(sentence, voice), silence]
    return np.concatenate(parts[:-1])
