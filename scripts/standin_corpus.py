"""Text for the langspan stand-in model: training grammar, held-out evaluation sentences, demo scripts.

All text here was written for this project. Three disjoint pools per language:

* ``GRAMMAR`` + ``EXTRA_WORDS`` -- the only text the model is trained on. Training sentences are random
  combinations of the grammar slots (subject, verb phrase, place, time, opener, tag), random "word salad"
  from every word of the pool, and random numbers that espeak-ng reads out in the language.
* ``EVAL_SENTENCES`` -- hand-written sentences on other topics, never used in training; the held-out window
  accuracy in the model card is measured on them.
* ``PODCAST`` and ``STORIES`` -- the demo media scripts, also never used in training.

``check_disjoint`` asserts that no held-out sentence is a training text.
"""

from __future__ import annotations

import random

LANGUAGES = ("deu", "eng", "fra", "spa")  # ISO 639-3, all labels of facebook/mms-lid-256

# Grammar slots. A training sentence is built from one entry per slot; the German verb phrase is split into
# the finite verb and the rest so that main clauses (verb second) and "dass" clauses (verb last) both work.
GRAMMAR: dict[str, dict[str, list]] = {
    "eng": {
        "subject": [
            "My neighbour", "The old teacher", "Our youngest daughter", "A tired driver",
            "The baker on the corner", "His best friend", "The new manager", "Every student in the class",
            "My grandmother", "The quiet boy", "Her older brother", "The farmer", "A young doctor",
            "The captain", "The postman",
        ],
        "verb": [
            "reads a long letter", "buys fresh bread", "forgets the keys", "writes a short story",
            "cleans the windows", "waits for the bus", "sings an old song", "carries a heavy box",
            "paints the garden fence", "cooks a spicy soup", "tells a funny joke", "fixes the broken bicycle",
            "plays the piano", "watches the evening news", "answers every question", "loses an umbrella",
            "counts the coins", "opens the blue door", "feeds the hungry cats", "climbs the steep hill",
        ],
        "place": [
            "in the kitchen", "near the railway station", "at the market", "behind the church",
            "in a small hotel", "on the bridge", "at the edge of the forest", "in the city library",
            "by the river", "on the top floor", "in the village square", "at the airport",
            "under the big tree", "in the garden", "at the harbour",
        ],
        "time": [
            "every morning", "after dinner", "on Sunday afternoon", "before the rain starts", "late at night",
            "during the holidays", "twice a week", "in the spring", "when nobody is watching",
            "right after work", "at half past seven", "once in a while", "all summer long",
            "before breakfast", "on a cold winter day",
        ],
        "opener": [
            "Honestly,", "Well,", "You know,", "As usual,", "Believe it or not,", "Apparently,", "Of course,",
            "Sometimes", "Luckily,", "To be fair,",
        ],
        "tag": [", don't you think?", ", or not?", ", I suppose.", ", as far as I know."],
        "that": ["Is it true that", "I heard that", "Somebody told me that", "Nobody believes that"],
    },
    "deu": {
        "subject": [
            "Mein Nachbar", "Die alte Lehrerin", "Unsere jüngste Tochter", "Ein müder Fahrer",
            "Der Bäcker an der Ecke", "Sein bester Freund", "Die neue Chefin", "Jeder Schüler in der Klasse",
            "Meine Großmutter", "Der stille Junge", "Ihr älterer Bruder", "Der Bauer", "Eine junge Ärztin",
            "Der Kapitän", "Der Briefträger",
        ],
        "verb": [
            ("liest", "einen langen Brief"), ("kauft", "frisches Brot"), ("vergisst", "die Schlüssel"),
            ("schreibt", "eine kurze Geschichte"), ("putzt", "die Fenster"), ("wartet", "auf den Bus"),
            ("singt", "ein altes Lied"), ("trägt", "eine schwere Kiste"), ("streicht", "den Gartenzaun"),
            ("kocht", "eine scharfe Suppe"), ("erzählt", "einen lustigen Witz"),
            ("repariert", "das kaputte Fahrrad"), ("spielt", "Klavier"), ("sieht", "die Abendnachrichten"),
            ("beantwortet", "jede Frage"), ("verliert", "einen Regenschirm"), ("zählt", "die Münzen"),
            ("öffnet", "die blaue Tür"), ("füttert", "die hungrigen Katzen"), ("besteigt", "den steilen Hügel"),
        ],
        "place": [
            "in der Küche", "am Bahnhof", "auf dem Markt", "hinter der Kirche", "in einem kleinen Hotel",
            "auf der Brücke", "am Waldrand", "in der Stadtbibliothek", "am Fluss", "im obersten Stock",
            "auf dem Dorfplatz", "am Flughafen", "unter dem großen Baum", "im Garten", "im Hafen",
        ],
        "time": [
            "jeden Morgen", "nach dem Abendessen", "am Sonntagnachmittag", "vor dem Regen", "spät in der Nacht",
            "in den Ferien", "zweimal pro Woche", "im Frühling", "heimlich", "gleich nach der Arbeit",
            "um halb acht", "ab und zu", "den ganzen Sommer", "vor dem Frühstück", "an einem kalten Wintertag",
        ],
        # Only openers that do not move the verb (German main clauses keep the verb in second place).
        "opener": ["Ja,", "Na ja,", "Also,", "Weißt du,", "Stell dir vor,", "Hör mal,", "Ach,", "Tja,"],
        "tag": [", oder?", ", nicht wahr?", ", glaube ich.", ", soweit ich weiß."],
        "that": ["Stimmt es, dass", "Ich habe gehört, dass", "Jemand hat mir erzählt, dass",
                 "Niemand glaubt, dass"],
    },
    "fra": {
        "subject": [
            "Mon voisin", "La vieille institutrice", "Notre fille cadette", "Un chauffeur fatigué",
            "Le boulanger du coin", "Son meilleur ami", "La nouvelle directrice", "Chaque élève de la classe",
            "Ma grand-mère", "Le garçon silencieux", "Son frère aîné", "Le fermier", "Une jeune médecin",
            "Le capitaine", "Le facteur",
        ],
        "verb": [
            "lit une longue lettre", "achète du pain frais", "oublie les clés", "écrit une courte histoire",
            "nettoie les fenêtres", "attend le bus", "chante une vieille chanson", "porte une lourde caisse",
            "peint la clôture du jardin", "prépare une soupe épicée", "raconte une blague drôle",
            "répare le vélo cassé", "joue du piano", "regarde les informations du soir",
            "répond à chaque question", "perd un parapluie", "compte les pièces", "ouvre la porte bleue",
            "nourrit les chats affamés", "grimpe la colline raide",
        ],
        "place": [
            "dans la cuisine", "près de la gare", "au marché", "derrière l'église", "dans un petit hôtel",
            "sur le pont", "au bord de la forêt", "à la bibliothèque municipale", "au bord de la rivière",
            "au dernier étage", "sur la place du village", "à l'aéroport", "sous le grand arbre",
            "dans le jardin", "au port",
        ],
        "time": [
            "tous les matins", "après le dîner", "le dimanche après-midi", "avant la pluie",
            "tard dans la nuit", "pendant les vacances", "deux fois par semaine", "au printemps",
            "quand personne ne regarde", "juste après le travail", "à sept heures et demie",
            "de temps en temps", "tout l'été", "avant le petit déjeuner", "par un froid jour d'hiver",
        ],
        "opener": [
            "Franchement,", "Bon,", "Tu sais,", "Comme d'habitude,", "Crois-le ou non,", "Apparemment,",
            "Bien sûr,", "Parfois,", "Heureusement,", "En fait,",
        ],
        "tag": [", n'est-ce pas ?", ", non ?", ", je suppose.", ", à ma connaissance."],
        "that": ["Est-il vrai que", "J'ai entendu dire que", "Quelqu'un m'a dit que", "Personne ne croit que"],
    },
    "spa": {
        "subject": [
            "Mi vecino", "La vieja maestra", "Nuestra hija menor", "Un conductor cansado",
            "El panadero de la esquina", "Su mejor amigo", "La nueva directora", "Cada alumno de la clase",
            "Mi abuela", "El niño callado", "Su hermano mayor", "El granjero", "Una joven médica",
            "El capitán", "El cartero",
        ],
        "verb": [
            "lee una carta larga", "compra pan fresco", "olvida las llaves", "escribe un cuento corto",
            "limpia las ventanas", "espera el autobús", "canta una canción antigua", "lleva una caja pesada",
            "pinta la valla del jardín", "cocina una sopa picante", "cuenta un chiste gracioso",
            "arregla la bicicleta rota", "toca el piano", "mira las noticias de la noche",
            "responde a cada pregunta", "pierde un paraguas", "cuenta las monedas", "abre la puerta azul",
            "da de comer a los gatos hambrientos", "sube la colina empinada",
        ],
        "place": [
            "en la cocina", "cerca de la estación", "en el mercado", "detrás de la iglesia",
            "en un hotel pequeño", "sobre el puente", "al borde del bosque", "en la biblioteca municipal",
            "junto al río", "en el último piso", "en la plaza del pueblo", "en el aeropuerto",
            "bajo el árbol grande", "en el jardín", "en el puerto",
        ],
        "time": [
            "todas las mañanas", "después de cenar", "el domingo por la tarde", "antes de que llueva",
            "muy tarde por la noche", "durante las vacaciones", "dos veces por semana", "en primavera",
            "cuando nadie mira", "justo después del trabajo", "a las siete y media", "de vez en cuando",
            "todo el verano", "antes del desayuno", "en un frío día de invierno",
        ],
        "opener": [
            "Sinceramente,", "Bueno,", "Mira,", "Como siempre,", "Aunque no lo creas,", "Al parecer,",
            "Por supuesto,", "A veces", "Por suerte,", "La verdad,",
        ],
        "tag": [", ¿verdad?", ", ¿no?", ", supongo.", ", que yo sepa."],
        "that": ["¿Es verdad que", "He oído que", "Alguien me dijo que", "Nadie cree que"],
    },
}

# More words for word-salad training text, so the model hears more of each language's sounds than the
# grammar alone provides (nouns, adjectives, verbs, small words).
EXTRA_WORDS: dict[str, str] = {
    "eng": """
        water mountain yellow quickly through thought children would should nothing weather window
        beautiful strength question shoulder enough laugh knight thirsty vegetable measure usually
        orange journey breathe clothes world birthday happiness although thirteen whisper village
        chocolate engine dangerous squirrel furniture neighbourhood rhythm wednesday island treasure
        teacher thank you the of and which where because without perhaps tomorrow yesterday always
    """,
    "deu": """
        Wasser Berg gelb schnell durch Gedanke Kinder würde sollte nichts Wetter Fenster schön Stärke
        Frage Schulter genug lachen Ritter durstig Gemüse Maß gewöhnlich Apfelsine Reise atmen Kleider
        Welt Geburtstag Glück obwohl dreizehn flüstern Dorf Schokolade Maschine gefährlich Eichhörnchen
        Möbel Nachbarschaft Mittwoch Insel Schatz Zeitung Mädchen ich nicht und oder weil vielleicht
        morgen gestern immer zwölf Straße Brücke Kirsche Frühstück zwischen Eichhörnchen Zucker
    """,
    "fra": """
        eau montagne jaune rapidement travers pensée enfants voudrait devrait rien temps fenêtre beau
        force question épaule assez rire chevalier assoiffé légume mesure habituellement orange voyage
        respirer vêtements monde anniversaire bonheur bien que treize chuchoter village chocolat moteur
        dangereux écureuil meubles quartier mercredi île trésor journal fille je ne pas et ou parce que
        peut-être demain hier toujours douze rue pont cerise grenouille oiseau soleil heureux mignon
    """,
    "spa": """
        agua montaña amarillo rápidamente través pensamiento niños querría debería nada tiempo ventana
        hermoso fuerza pregunta hombro bastante reír caballero sediento verdura medida normalmente
        naranja viaje respirar ropa mundo cumpleaños felicidad aunque trece susurrar pueblo chocolate
        motor peligroso ardilla muebles barrio miércoles isla tesoro periódico chica yo no y o porque
        quizás mañana ayer siempre doce calle puente cereza rana pájaro sol feliz guitarra zapato
    """,
}

# Held-out evaluation sentences (other topics and vocabulary than the grammar; never used in training).
EVAL_SENTENCES: dict[str, list[str]] = {
    "eng": [
        "The museum will stay closed until the roof has been repaired.",
        "Please remember to switch off the lights when you leave the office.",
        "Scientists measured the temperature of the lake for twelve years.",
        "I would rather walk home than wait another hour for a taxi.",
        "The orchestra rehearsed the second movement again and again.",
        "Could you tell me how to get to the nearest pharmacy?",
        "Our football team finally won the championship after a long season.",
        "She planted tomatoes, beans and a row of sunflowers along the wall.",
        "The price of coffee has gone up almost every month this year.",
        "He spent the whole weekend repairing the old wooden boat.",
        "If the weather improves, we can have lunch outside on the terrace.",
        "The children built a sandcastle that was taller than their father.",
        "Most of the passengers fell asleep before the plane took off.",
        "The committee has not yet decided where the next meeting will be held.",
        "A strong wind blew the leaves across the empty playground.",
        "I borrowed three books from the library and finished them in a week.",
        "The bridge was built more than two hundred years ago.",
        "Would you like some more tea, or shall I open a bottle of juice?",
        "The photographer waited patiently for the sun to come out.",
        "Nobody expected the quiet student to win the chess tournament.",
        "They moved to a small town by the sea when they retired.",
        "The recipe calls for two eggs, a cup of flour and a pinch of salt.",
        "Our train was delayed because of a signal failure near the tunnel.",
        "The doctor advised him to drink more water and sleep longer.",
        "Every evening the fishermen bring their boats back into the bay.",
        "The new software update fixed most of the problems we reported.",
        "She translated the letter from Portuguese into plain English.",
        "The garden looks wonderful after a few days of gentle rain.",
        "We counted more than forty different birds during the walk.",
        "The shop around the corner sells the best ice cream in town.",
    ],
    "deu": [
        "Das Museum bleibt geschlossen, bis das Dach repariert worden ist.",
        "Bitte denk daran, das Licht auszuschalten, wenn du das Büro verlässt.",
        "Forscher haben zwölf Jahre lang die Temperatur des Sees gemessen.",
        "Ich gehe lieber zu Fuß nach Hause, als noch eine Stunde auf ein Taxi zu warten.",
        "Das Orchester probte den zweiten Satz immer wieder.",
        "Können Sie mir sagen, wie ich zur nächsten Apotheke komme?",
        "Unsere Fußballmannschaft hat nach einer langen Saison endlich die Meisterschaft gewonnen.",
        "Sie pflanzte Tomaten, Bohnen und eine Reihe Sonnenblumen an der Mauer.",
        "Der Kaffeepreis ist dieses Jahr fast jeden Monat gestiegen.",
        "Er verbrachte das ganze Wochenende damit, das alte Holzboot zu reparieren.",
        "Wenn das Wetter besser wird, können wir draußen auf der Terrasse essen.",
        "Die Kinder bauten eine Sandburg, die größer war als ihr Vater.",
        "Die meisten Fahrgäste schliefen ein, bevor das Flugzeug abhob.",
        "Der Ausschuss hat noch nicht entschieden, wo die nächste Sitzung stattfindet.",
        "Ein starker Wind wehte die Blätter über den leeren Spielplatz.",
        "Ich habe drei Bücher aus der Bücherei geliehen und in einer Woche gelesen.",
        "Die Brücke wurde vor mehr als zweihundert Jahren gebaut.",
        "Möchtest du noch etwas Tee, oder soll ich eine Flasche Saft öffnen?",
        "Der Fotograf wartete geduldig darauf, dass die Sonne herauskam.",
        "Niemand hatte erwartet, dass der stille Student das Schachturnier gewinnt.",
        "Als sie in Rente gingen, zogen sie in eine kleine Stadt am Meer.",
        "Für das Rezept braucht man zwei Eier, eine Tasse Mehl und eine Prise Salz.",
        "Unser Zug hatte Verspätung wegen einer Signalstörung vor dem Tunnel.",
        "Der Arzt riet ihm, mehr Wasser zu trinken und länger zu schlafen.",
        "Jeden Abend bringen die Fischer ihre Boote zurück in die Bucht.",
        "Das neue Softwareupdate hat die meisten gemeldeten Fehler behoben.",
        "Sie übersetzte den Brief aus dem Portugiesischen in einfaches Deutsch.",
        "Nach ein paar Tagen sanftem Regen sieht der Garten wunderbar aus.",
        "Während der Wanderung zählten wir mehr als vierzig verschiedene Vögel.",
        "Der Laden um die Ecke verkauft das beste Eis der Stadt.",
    ],
    "fra": [
        "Le musée restera fermé jusqu'à la réparation du toit.",
        "N'oublie pas d'éteindre la lumière en quittant le bureau.",
        "Des chercheurs ont mesuré la température du lac pendant douze ans.",
        "Je préfère rentrer à pied plutôt que d'attendre un taxi encore une heure.",
        "L'orchestre a répété le deuxième mouvement encore et encore.",
        "Pourriez-vous m'indiquer le chemin de la pharmacie la plus proche ?",
        "Notre équipe de football a enfin gagné le championnat après une longue saison.",
        "Elle a planté des tomates, des haricots et une rangée de tournesols le long du mur.",
        "Le prix du café a augmenté presque tous les mois cette année.",
        "Il a passé tout le week-end à réparer le vieux bateau en bois.",
        "Si le temps s'améliore, nous pourrons déjeuner dehors sur la terrasse.",
        "Les enfants ont construit un château de sable plus grand que leur père.",
        "La plupart des passagers se sont endormis avant le décollage.",
        "Le comité n'a pas encore décidé où aura lieu la prochaine réunion.",
        "Un vent fort a poussé les feuilles à travers la cour de récréation vide.",
        "J'ai emprunté trois livres à la médiathèque et je les ai finis en une semaine.",
        "Ce pont a été construit il y a plus de deux cents ans.",
        "Veux-tu encore un peu de thé, ou dois-je ouvrir une bouteille de jus ?",
        "Le photographe a attendu patiemment que le soleil apparaisse.",
        "Personne ne s'attendait à ce que l'étudiant discret gagne le tournoi d'échecs.",
        "Ils ont déménagé dans une petite ville au bord de la mer à la retraite.",
        "La recette demande deux œufs, une tasse de farine et une pincée de sel.",
        "Notre train a eu du retard à cause d'une panne de signalisation près du tunnel.",
        "Le médecin lui a conseillé de boire plus d'eau et de dormir davantage.",
        "Chaque soir, les pêcheurs ramènent leurs bateaux dans la baie.",
        "La nouvelle mise à jour du logiciel a corrigé la plupart des problèmes signalés.",
        "Elle a traduit la lettre du portugais vers un français simple.",
        "Le jardin est magnifique après quelques jours de pluie douce.",
        "Nous avons compté plus de quarante oiseaux différents pendant la promenade.",
        "La boutique au coin de la rue vend la meilleure glace de la ville.",
    ],
    "spa": [
        "El museo permanecerá cerrado hasta que reparen el tejado.",
        "Por favor, acuérdate de apagar la luz cuando salgas de la oficina.",
        "Unos científicos midieron la temperatura del lago durante doce años.",
        "Prefiero volver a casa andando que esperar otra hora a un taxi.",
        "La orquesta ensayó el segundo movimiento una y otra vez.",
        "¿Podría decirme cómo llegar a la farmacia más cercana?",
        "Nuestro equipo de fútbol por fin ganó el campeonato después de una larga temporada.",
        "Ella plantó tomates, judías y una fila de girasoles junto al muro.",
        "El precio del café ha subido casi todos los meses este año.",
        "Pasó todo el fin de semana reparando el viejo barco de madera.",
        "Si el tiempo mejora, podremos comer fuera en la terraza.",
        "Los niños construyeron un castillo de arena más alto que su padre.",
        "La mayoría de los pasajeros se durmieron antes del despegue.",
        "El comité todavía no ha decidido dónde será la próxima reunión.",
        "Un viento fuerte arrastró las hojas por el patio vacío.",
        "Saqué tres libros de la biblioteca y los terminé en una semana.",
        "El puente se construyó hace más de doscientos años.",
        "¿Quieres un poco más de té, o abro una botella de zumo?",
        "El fotógrafo esperó con paciencia a que saliera el sol.",
        "Nadie esperaba que el estudiante tímido ganara el torneo de ajedrez.",
        "Cuando se jubilaron, se mudaron a un pueblo pequeño junto al mar.",
        "La receta lleva dos huevos, una taza de harina y una pizca de sal.",
        "Nuestro tren se retrasó por una avería de señales cerca del túnel.",
        "El médico le aconsejó beber más agua y dormir más horas.",
        "Cada tarde los pescadores traen sus barcas de vuelta a la bahía.",
        "La nueva actualización del programa arregló casi todos los fallos.",
        "Ella tradujo la carta del portugués a un español sencillo.",
        "El jardín está precioso después de unos días de lluvia suave.",
        "Contamos más de cuarenta pájaros distintos durante el paseo.",
        "La tienda de la esquina vende el mejor helado de la ciudad.",
    ],
}

# Demo podcast: (language, sentences) segments in order; every segment lasts well over 10 s when spoken.
PODCAST: list[tuple[str, list[str]]] = [
    ("eng", [
        "Welcome back to the show, where we listen to the languages of our neighbours.",
        "Today we travel from the mountains to the sea in four short stories.",
        "Our first guest grew up in a small town near the northern border.",
        "She will tell us about the winter market and the smell of roasted chestnuts.",
    ]),
    ("deu", [
        "Guten Abend, ich freue mich sehr, heute hier zu sein.",
        "In meiner Heimatstadt beginnt der Wintermarkt immer Ende November.",
        "Die Stände verkaufen heiße Maronen, Lebkuchen und warme Handschuhe.",
        "Am schönsten ist es abends, wenn überall die Lichter brennen.",
    ]),
    ("fra", [
        "Merci beaucoup, c'est un plaisir de parler de ma région.",
        "Chez nous, la mer est toujours un peu grise en automne.",
        "Les pêcheurs vendent leurs poissons directement sur le quai le matin.",
        "Le dimanche, toute la famille se retrouve pour un long déjeuner.",
    ]),
    ("spa", [
        "Hola a todos, muchas gracias por la invitación.",
        "Yo vivo en un pueblo pequeño rodeado de olivos y colinas.",
        "En verano hace tanto calor que la gente sale a pasear de noche.",
        "Las fiestas del pueblo duran una semana entera con música y baile.",
    ]),
    ("eng", [
        "Thank you all for these wonderful little journeys.",
        "Next week we will visit a lighthouse keeper on a windy island.",
        "Until then, keep listening, and keep talking to your neighbours.",
    ]),
]

# Demo "film" scripts: the same two short stories told in every language, like dubbed audio tracks.
STORIES: dict[str, dict[str, list[str]]] = {
    "A": {
        "deu": [
            "Der Zug hielt mitten in der Nacht an einem verlassenen Bahnhof.",
            "Der Schaffner öffnete die Tür und rief einen Namen in die Dunkelheit.",
            "Eine alte Frau mit einem roten Koffer kam langsam näher.",
            "Sie lächelte und sagte, sie habe vierzig Jahre auf diesen Zug gewartet.",
        ],
        "fra": [
            "Le train s'est arrêté au milieu de la nuit dans une gare abandonnée.",
            "Le contrôleur a ouvert la porte et a crié un nom dans l'obscurité.",
            "Une vieille dame avec une valise rouge s'est approchée lentement.",
            "Elle a souri et a dit qu'elle attendait ce train depuis quarante ans.",
        ],
        "eng": [
            "The train stopped in the middle of the night at an abandoned station.",
            "The conductor opened the door and called a name into the darkness.",
            "An old woman with a red suitcase slowly came closer.",
            "She smiled and said she had waited forty years for this train.",
        ],
        "spa": [
            "El tren se detuvo en plena noche en una estación abandonada.",
            "El revisor abrió la puerta y gritó un nombre en la oscuridad.",
            "Una anciana con una maleta roja se acercó despacio.",
            "Sonrió y dijo que llevaba cuarenta años esperando ese tren.",
        ],
    },
    "B": {
        "deu": [
            "Auf dem Dachboden fand Lena eine Kiste voller alter Landkarten.",
            "Auf einer Karte war eine Insel eingezeichnet, die es nicht mehr gibt.",
            "Ihr Großvater hatte mit Bleistift einen kleinen Stern daneben gemalt.",
            "Lena beschloss, im Sommer mit dem Segelboot dorthin zu fahren.",
        ],
        "fra": [
            "Au grenier, Léna a trouvé une caisse pleine de vieilles cartes.",
            "Sur une carte figurait une île qui n'existe plus.",
            "Son grand-père avait dessiné une petite étoile au crayon à côté.",
            "Léna a décidé d'y aller en voilier pendant l'été.",
        ],
        "eng": [
            "In the attic, Lena found a box full of old maps.",
            "One of the maps showed an island that no longer exists.",
            "Her grandfather had drawn a little star next to it in pencil.",
            "Lena decided to sail there in her small boat during the summer.",
        ],
        "spa": [
            "En el desván, Lena encontró una caja llena de mapas antiguos.",
            "En uno de los mapas aparecía una isla que ya no existe.",
            "Su abuelo había dibujado una pequeña estrella a lápiz a su lado.",
            "Lena decidió navegar hasta allí en su velero durante el verano.",
        ],
    },
}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _clause(lang: str, rng: random.Random, subordinate: bool) -> str:
    """One subject-verb-place-time clause; German subordinate clauses put the verb last."""
    g = GRAMMAR[lang]
    subject, verb = rng.choice(g["subject"]), rng.choice(g["verb"])
    place, time = rng.choice(g["place"]), rng.choice(g["time"])
    if subordinate:
        subject = _lower_first(subject)
    if lang == "deu":
        finite, rest = verb
        if subordinate:
            return f"{subject} {time} {place} {rest} {finite}"
        return f"{subject} {finite} {time} {place} {rest}"
    parts = [place, time] if rng.random() < 0.5 else [time, place]
    return f"{subject} {verb} {parts[0]} {parts[1]}"


def grammar_sentence(lang: str, rng: random.Random) -> str:
    """A random statement, tagged statement, opener + statement or 'that' clause from the grammar."""
    g = GRAMMAR[lang]
    kind = rng.random()
    if kind < 0.2:
        prefix = rng.choice(g["that"])
        question = prefix.startswith(("Is ", "Stimmt", "Est-", "¿"))
        end = "?" if question else "."
        if lang == "fra" and question:
            end = " ?"
        return f"{prefix} {_clause(lang, rng, subordinate=True)}{end}"
    clause = _clause(lang, rng, subordinate=False)
    if kind < 0.45:
        return f"{rng.choice(g['opener'])} {_lower_first(clause)}."
    if kind < 0.65:
        return f"{clause}{rng.choice(g['tag'])}"
    return f"{clause}."


def vocabulary(lang: str) -> list[str]:
    """Every training word of a language: grammar slot words plus the extra word list."""
    g = GRAMMAR[lang]
    phrases = [p for slot in g.values() for p in slot]
    words = []
    for phrase in phrases:
        words.extend((" ".join(phrase) if isinstance(phrase, tuple) else phrase).split())
    words.extend(EXTRA_WORDS[lang].split())
    return sorted({w.strip(",.?¿!") for w in words} - {""})


def word_salad(lang: str, rng: random.Random) -> str:
    """Random words of the language: sounds without sentence structure."""
    return " ".join(rng.choices(vocabulary(lang), k=rng.randint(4, 12))) + "."


def number_text(lang: str, rng: random.Random) -> str:
    """A few random numbers; espeak-ng reads digits in the voice's language."""
    return ", ".join(str(rng.randint(0, 99999)) for _ in range(rng.randint(1, 4))) + "."


def training_text(lang: str, rng: random.Random) -> str:
    """One training utterance: mostly grammar sentences, some word salad, some numbers."""
    kind = rng.random()
    if kind < 0.65:
        return grammar_sentence(lang, rng)
    if kind < 0.9:
        return word_salad(lang, rng)
    return number_text(lang, rng)


def held_out_texts(lang: str) -> list[str]:
    """Every sentence the model must never be trained on: evaluation and demo scripts."""
    texts = list(EVAL_SENTENCES[lang])
    texts += [s for seg_lang, sentences in PODCAST if seg_lang == lang for s in sentences]
    texts += [s for story in STORIES.values() for s in story[lang]]
    return texts


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace(",", " ").replace(".", " ").split())


def check_disjoint(training: dict[str, list[str]]) -> None:
    """Fail if any held-out sentence (evaluation or demo) also occurs as a training text."""
    for lang, texts in training.items():
        seen = {_normalise(t) for t in texts}
        clash = [t for t in held_out_texts(lang) if _normalise(t) in seen]
        if clash:
            raise AssertionError(f"held-out {lang} sentences used in training: {clash[:3]}")
