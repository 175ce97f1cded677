"""Demo data: two Swiss field-service companies with staff, clients, orders and photos.

`organisatrice demo-data` loads it so that a new user can sign in and try the product at once.
Every demo employee's password is ``organisatrice-demo``; the addresses to sign in with are

- Meier Haustechnik AG (Zürich, German): dispatcher@meier.example, coordinator@meier.example,
  technician@meier.example, backoffice@meier.example
- Services Techniques Rochat SA (Lausanne, French): dispatcher@rochat.example,
  coordinator@rochat.example, technician@rochat.example, backoffice@rochat.example

Each company sends from its own address (auftraege@meier.example, commandes@rochat.example) and
has email templates for every kind in German, French, Italian and English (`demo_templates`).

All content comes from one seeded random generator, so a seed always gives the same data. The
load is planned in memory first; the photos are then rendered, checked by the upload path and put
into the blob store; last, every row is inserted in one transaction. So a half-loaded demo never
exists (which `--if-empty` would otherwise keep forever), and SQLite's single write lock is held
only for the inserts, not while photos are drawn.
"""

from __future__ import annotations

import io
import os
import random
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
import msgspec
from piccolo.table import Table
from PIL import ExifTags, Image, ImageColor, ImageDraw, ImageFont, ImageOps

from organisatrice.compose.schemas import AttachmentSource, Language, TemplateIn, TemplateKind
from organisatrice.compose.tables import EmailTemplate
from organisatrice.core.blobs import blob_store
from organisatrice.core.db import transaction
from organisatrice.orders.photos import IngestedPhoto, ingest_photo
from organisatrice.orders.tables import (
    Building,
    Client,
    Contact,
    Material,
    Order,
    OrderBuilding,
    OrderResponsible,
    Photo,
    WorkItem,
)
from organisatrice.roles.accounts import create_employee
from organisatrice.roles.passwords import hash_password
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company, Employee
from organisatrice.settings import get_settings

PASSWORD = "organisatrice-demo"  # noqa: S105 -- the published demo password, not a secret
CLIENTS_PER_COMPANY = 30
LOCAL_TIME = ZoneInfo("Europe/Zurich")
# The demo reads as if seen in late autumn 2026: older orders are done, later ones planned.
AS_OF = date(2026, 11, 1)
YEAR_START = date(2026, 1, 5)
YEAR_END = date(2026, 12, 31)
PHOTO_SIZE = (800, 600)
# The lowest bound-parameter limit of SQLite builds still in use; PostgreSQL allows far more.
MAX_PARAMETERS = 999

# Short names keep the staff tables below at one line per person.
D, C, T, B = Role.DISPATCHER, Role.COORDINATOR, Role.TECHNICIAN, Role.BACKOFFICE


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 -- demo content, not security


# --- What the demo is made of ---------------------------------------------------------------


def _items(text: str) -> tuple[str, ...]:
    """A list written as one line of text, so that long lists stay readable here."""
    return tuple(text.split(", "))


class _Staff(msgspec.Struct, frozen=True):
    first_name: str
    last_name: str
    mailbox: str
    roles: frozenset[Role]
    locale: str


class _CompanySpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    street: str
    postal_code: str
    city: str
    phone: str
    domain: str
    # Where the company's emails come from: "auftraege" at the domain.
    sender_mailbox: str
    brand_colour: str
    language: str
    client_prefix: str
    area_code: str
    client_languages: tuple[tuple[str, float], ...]
    # "postal code and place", street names and kinds of building of the company's region
    places: tuple[str, ...]
    streets: tuple[str, ...]
    building_kinds: tuple[str, ...]
    house: str
    staff: tuple[_Staff, ...]


COMPANIES = (
    _CompanySpec(
        name="Meier Haustechnik AG",
        street="Binzstrasse 23",
        postal_code="8045",
        city="Zürich",
        phone="+41 44 455 12 80",
        domain="meier.example",
        sender_mailbox="auftraege",
        brand_colour="#c2410c",
        language="de",
        client_prefix="K",
        area_code="44",
        client_languages=(("de", 0.7), ("it", 0.12), ("en", 0.1), ("fr", 0.08)),
        places=_items(
            "8001 Zürich, 8003 Zürich, 8004 Zürich, 8006 Zürich, 8008 Zürich, 8032 Zürich, "
            "8037 Zürich, 8050 Zürich, 8400 Winterthur, 8600 Dübendorf, 8700 Küsnacht, "
            "8802 Kilchberg, 8810 Horgen, 8180 Bülach, 8953 Dietikon, 8304 Wallisellen"
        ),
        streets=_items(
            "Bahnhofstrasse, Seestrasse, Dorfstrasse, Kirchgasse, Schulhausstrasse, Bergstrasse, "
            "Gartenstrasse, Rosenweg, Lindenstrasse, Badenerstrasse, Forchstrasse, "
            "Hofwiesenstrasse, Birmensdorferstrasse, Winterthurerstrasse, Seefeldstrasse, "
            "Mühlebachstrasse, Im Grüt, Zürichstrasse, Weinbergstrasse, Rebhaldenweg"
        ),
        building_kinds=_items(
            "Mehrfamilienhaus, Wohnhaus, Geschäftshaus, Bürogebäude, Liegenschaft, "
            "Wohnüberbauung, Lagerhalle"
        ),
        house="Einfamilienhaus",
        staff=(
            _Staff("Daniel", "Brunner", "dispatcher", frozenset({D}), "de"),
            _Staff("Anna", "Keller", "anna.keller", frozenset({D}), "de"),
            _Staff("Claudia", "Frei", "coordinator", frozenset({C}), "de"),
            _Staff("Martin", "Huber", "martin.huber", frozenset({C}), "de"),
            _Staff("Stefan", "Gerber", "technician", frozenset({T}), "de"),
            _Staff("Luca", "Bernasconi", "luca.bernasconi", frozenset({T}), "it"),
            _Staff("Reto", "Baumann", "reto.baumann", frozenset({T}), "de"),
            _Staff("Jonas", "Wyss", "jonas.wyss", frozenset({T}), "de"),
            _Staff("Sandra", "Schneider", "backoffice", frozenset({B}), "de"),
            _Staff("Thomas", "Meier", "thomas.meier", frozenset({D, B}), "de"),
        ),
    ),
    _CompanySpec(
        name="Services Techniques Rochat SA",
        street="Avenue de Sévelin 18",
        postal_code="1004",
        city="Lausanne",
        phone="+41 21 624 37 50",
        domain="rochat.example",
        sender_mailbox="commandes",
        brand_colour="#0f766e",
        language="fr",
        client_prefix="C",
        area_code="21",
        client_languages=(("fr", 0.7), ("de", 0.12), ("en", 0.1), ("it", 0.08)),
        places=_items(
            "1003 Lausanne, 1004 Lausanne, 1005 Lausanne, 1006 Lausanne, 1007 Lausanne, "
            "1010 Lausanne, 1009 Pully, 1020 Renens, 1030 Bussigny, 1052 Le Mont-sur-Lausanne, "
            "1110 Morges, 1260 Nyon, 1400 Yverdon-les-Bains, 1800 Vevey, 1820 Montreux, "
            "1095 Lutry"
        ),
        streets=_items(
            "Avenue de la Gare, Rue du Petit-Chêne, Avenue de Cour, Chemin des Vignes, "
            "Rue de Bourg, Avenue d'Ouchy, Route de Berne, Chemin du Levant, Rue Centrale, "
            "Avenue de Rumine, Rue de Lausanne, Avenue du Léman, Chemin de la Colline, "
            "Rue du Midi, Grand-Rue, Avenue des Alpes, Chemin des Roches, Route de Genève, "
            "Avenue de Morges, Chemin de Bellerive"
        ),
        building_kinds=_items(
            "Immeuble locatif, Immeuble, Résidence, Bâtiment administratif, "
            "Immeuble commercial, Entrepôt"
        ),
        house="Villa",
        staff=(
            _Staff("Julien", "Favre", "dispatcher", frozenset({D}), "fr"),
            _Staff("Camille", "Dubois", "camille.dubois", frozenset({D}), "fr"),
            _Staff("Isabelle", "Morel", "coordinator", frozenset({C}), "fr"),
            _Staff("Sébastien", "Pittet", "sebastien.pittet", frozenset({C}), "fr"),
            _Staff("Olivier", "Chappuis", "technician", frozenset({T}), "fr"),
            _Staff("David", "Miller", "david.miller", frozenset({T}), "en"),
            _Staff("Nicolas", "Jaquier", "nicolas.jaquier", frozenset({T}), "fr"),
            _Staff("Yannick", "Perret", "yannick.perret", frozenset({T}), "fr"),
            _Staff("Sophie", "Bovet", "backoffice", frozenset({B}), "fr"),
            _Staff("Pierre", "Rochat", "pierre.rochat", frozenset({D, B}), "fr"),
        ),
    ),
)
SIGN_IN_EMAILS = [f"{s.mailbox}@{c.domain}" for c in COMPANIES for s in c.staff]


class _Language(msgspec.Struct, frozen=True, kw_only=True):
    """How clients and their contacts of one language are named."""

    men: tuple[str, ...]
    women: tuple[str, ...]
    family_names: tuple[str, ...]
    functions_men: tuple[str, ...]
    functions_women: tuple[str, ...]
    owner_man: str
    owner_woman: str
    # shared mailboxes with a function and no person
    desks: tuple[str, ...]
    firms: tuple[str, ...]
    household: str
    words: tuple[str, ...]
    # only example domains, never real ones
    mail_domains: tuple[str, ...]


LANGUAGES = {
    "de": _Language(
        men=_items("Hans, Peter, Markus, Urs, Beat, Martin, Andreas, Christian, Lukas"),
        women=_items("Ursula, Ruth, Monika, Sabine, Barbara, Nicole, Karin, Esther, Silvia"),
        family_names=_items(
            "Müller, Schmid, Keller, Weber, Huber, Steiner, Fischer, Brunner, Baumann, "
            "Zimmermann, Moser, Widmer, Graf, Suter, Bachmann"
        ),
        functions_men=_items(
            "Facility Manager, Hauswart, Liegenschaftsverwalter, Geschäftsführer, "
            "Bewirtschafter, Leiter Technik"
        ),
        functions_women=_items(
            "Facility Managerin, Hauswartin, Liegenschaftsverwalterin, Geschäftsführerin, "
            "Bewirtschafterin, Leiterin Technik"
        ),
        owner_man="Eigentümer",
        owner_woman="Eigentümerin",
        desks=_items("Verwaltung, Hauswartung, Empfang"),
        firms=_items(
            "Immobilien {last} AG, Liegenschaftsverwaltung {last} GmbH, "
            "Wohnbaugenossenschaft {word}, STWEG {street}, {last} Treuhand AG, "
            "Restaurant {word}, Hotel {word}, Bäckerei {last}, Arztpraxis Dr. {last}, "
            "Alterszentrum {word}, Kirchgemeinde {city}"
        ),
        household="Familie {last}",
        words=_items(
            "Sonnenhalde, Lindenhof, Seeblick, Rosengarten, Waldheim, Sonnenberg, Löwen, "
            "Hirschen, Kreuz, Bellevue"
        ),
        mail_domains=("kunden.example", "verwaltung.example", "example.com"),
    ),
    "fr": _Language(
        men=_items("Jean, Pierre, Philippe, Alain, Laurent, Christophe, François, Michel"),
        women=_items("Marie, Isabelle, Nathalie, Sophie, Catherine, Valérie, Sandrine, Claire"),
        family_names=_items(
            "Favre, Bovet, Jaquet, Dupuis, Bonvin, Mercier, Perrin, Cuénod, Reymond, Girard, "
            "Rochat, Chevalley, Blanc, Pasche, Rey"
        ),
        functions_men=_items(
            "Gérant, Concierge, Responsable technique, Directeur, Administrateur PPE"
        ),
        functions_women=_items(
            "Gérante, Concierge, Responsable technique, Directrice, Administratrice PPE"
        ),
        owner_man="Propriétaire",
        owner_woman="Propriétaire",
        desks=_items("Gérance, Conciergerie, Réception"),
        firms=_items(
            "Régie {last} SA, Gérance {last} & Fils, PPE {street}, "
            "Coopérative d'habitation {word}, Hôtel {word}, Restaurant {word}, "
            "Boulangerie {last}, Cabinet médical Dr {last}, EMS {word}, Fiduciaire {last} Sàrl"
        ),
        household="Famille {last}",
        words=_items(
            "Les Tilleuls, Pré-Fleuri, Beau-Site, Bellevue, Les Cèdres, La Rosiaz, Mon-Repos, "
            "Le Vieux-Moulin"
        ),
        mail_domains=("clients.example", "regie.example"),
    ),
    "it": _Language(
        men=_items("Marco, Luca, Giuseppe, Paolo, Giovanni, Matteo, Stefano"),
        women=_items("Maria, Giulia, Francesca, Chiara, Elena, Laura, Paola"),
        family_names=_items(
            "Rossi, Bernasconi, Ferrari, Colombo, Bianchi, Lombardi, Galli, Pedrazzini, "
            "Fontana, Moretti"
        ),
        functions_men=_items("Amministratore, Custode, Responsabile tecnico, Direttore"),
        functions_women=_items("Amministratrice, Custode, Responsabile tecnica, Direttrice"),
        owner_man="Proprietario",
        owner_woman="Proprietaria",
        desks=_items("Amministrazione, Portineria"),
        firms=_items(
            "Ristorante {word}, Immobiliare {last} SA, Pizzeria {word}, Fiduciaria {last} SA"
        ),
        household="Famiglia {last}",
        words=_items("Da Gino, Bella Napoli, Al Ponte, La Pergola, Il Castagno, Ticino"),
        mail_domains=("clienti.example", "amministrazione.example"),
    ),
    "en": _Language(
        men=_items("John, David, Michael, James, Robert, Richard"),
        women=_items("Sarah, Emma, Jennifer, Helen, Rachel, Kate"),
        family_names=_items("Smith, Johnson, Brown, Taylor, Wilson, Clarke, Evans, Walker"),
        functions_men=_items("Facility Manager, Property Manager, Head of Operations, Caretaker"),
        functions_women=_items("Facility Manager, Property Manager, Head of Operations, Caretaker"),
        owner_man="Owner",
        owner_woman="Owner",
        desks=_items("Facility Management, Reception"),
        firms=_items(
            "{last} Consulting GmbH, {last} Holdings Ltd, International School {city}, "
            "The {word} Residence"
        ),
        household="{last} family",
        words=_items("Lakeside, Parkview, Hillcrest, Riverside"),
        mail_domains=("example.com",),
    ),
}


class _Job(msgspec.Struct, frozen=True):
    """A kind of work order. Every text is a pair: (German, French)."""

    title: tuple[str, str]
    description: tuple[str, str]
    steps: tuple[tuple[str, str], ...]
    # (article in German, in French, unit, most of it one order uses)
    materials: tuple[tuple[str, str, str, int], ...]


JOBS = (
    _Job(
        ("Heizungsservice", "Entretien du chauffage"),
        (
            "Jährlicher Service der Gasheizung gemäss Wartungsvertrag.",
            "Entretien annuel de la chaudière à gaz selon le contrat de maintenance.",
        ),
        (
            ("Brenner gereinigt und eingestellt", "Brûleur nettoyé et réglé"),
            ("Abgasmessung durchgeführt", "Mesure des gaz de combustion effectuée"),
            ("Anlagendruck geprüft, Wasser nachgefüllt", "Pression contrôlée, appoint d'eau fait"),
            ("Ausdehnungsgefäss geprüft", "Vase d'expansion contrôlé"),
        ),
        (
            ("Brennerdüse", "Gicleur de brûleur", "pc", 1),
            ("Dichtungssatz Brenner", "Jeu de joints brûleur", "set", 1),
            ("Zündelektrode", "Électrode d'allumage", "pc", 1),
        ),
    ),
    _Job(
        ("Leck im Badezimmer reparieren", "Réparer une fuite dans la salle de bains"),
        (
            "Wasserfleck an der Decke der unteren Wohnung, Leck vermutlich in der Vorwand.",
            "Tache d'humidité au plafond de l'appartement du dessous, fuite probable dans le "
            "bâti-support.",
        ),
        (
            ("Leckstelle mit Feuchtemessung geortet", "Fuite localisée par mesure d'humidité"),
            ("Vorwand geöffnet", "Bâti-support ouvert"),
            ("Defekte Pressverbindung ersetzt", "Raccord à sertir défectueux remplacé"),
            ("Dichtheitsprüfung, Vorwand geschlossen", "Essai d'étanchéité, bâti-support refermé"),
        ),
        (
            ("Kupferrohr 15 mm", "Tube cuivre 15 mm", "m", 3),
            ("Pressfitting 15 mm", "Raccord à sertir 15 mm", "pc", 6),
            ("Sanitärsilikon", "Silicone sanitaire", "pc", 2),
        ),
    ),
    _Job(
        ("Heizkessel ersetzen", "Remplacement chaudière"),
        (
            "Alten Ölkessel demontieren und durch einen Gas-Brennwertkessel ersetzen.",
            "Démonter l'ancienne chaudière à mazout et installer une chaudière gaz à condensation.",
        ),
        (
            ("Alter Kessel demontiert und entsorgt", "Ancienne chaudière démontée et évacuée"),
            ("Neuer Kessel montiert und angeschlossen", "Nouvelle chaudière posée et raccordée"),
            ("Abgasleitung angepasst", "Conduit de fumée adapté"),
            ("Inbetriebnahme und Einregulierung", "Mise en service et réglage"),
        ),
        (
            ("Gas-Brennwertkessel 24 kW", "Chaudière gaz à condensation 24 kW", "pc", 1),
            ("Abgasrohr DN 80", "Conduit de fumée DN 80", "m", 4),
            ("Kugelhahn 1 Zoll", "Vanne à bille 1 pouce", "pc", 4),
        ),
    ),
    _Job(
        ("Boiler ersetzen", "Remplacement du chauffe-eau"),
        (
            "Boiler verkalkt und undicht, Ersatz durch 300-Liter-Boiler.",
            "Chauffe-eau entartré et non étanche, remplacement par un modèle de 300 litres.",
        ),
        (
            ("Boiler entleert und demontiert", "Chauffe-eau vidangé et démonté"),
            ("Neuer Boiler montiert", "Nouveau chauffe-eau posé"),
            ("Sicherheitsgruppe ersetzt", "Groupe de sécurité remplacé"),
        ),
        (
            ("Elektroboiler 300 l", "Chauffe-eau électrique 300 l", "pc", 1),
            ("Sicherheitsgruppe", "Groupe de sécurité", "pc", 1),
        ),
    ),
    _Job(
        ("Verstopfter Abfluss in der Küche", "Débouchage de l'écoulement de la cuisine"),
        ("Spülbecken läuft nicht mehr ab.", "L'évier ne s'écoule plus."),
        (
            ("Siphon gereinigt", "Siphon nettoyé"),
            ("Leitung mit Spirale gespült", "Conduite débouchée au furet"),
            ("Kamerainspektion der Fallleitung", "Inspection caméra de la colonne de chute"),
        ),
        (("Siphon 1 1/2 Zoll", "Siphon 1 1/2 pouce", "pc", 1),),
    ),
    _Job(
        ("Thermostatventile ersetzen", "Remplacement des vannes thermostatiques"),
        (
            "Alte Heizkörperventile klemmen; Ersatz in allen Wohnungen.",
            "Les anciennes vannes de radiateurs se bloquent ; remplacement dans tous les "
            "appartements.",
        ),
        (
            ("Anlage entleert", "Installation vidangée"),
            ("Ventilunterteile und Köpfe ersetzt", "Corps et têtes de vannes remplacés"),
            ("Anlage gefüllt und entlüftet", "Installation remplie et purgée"),
            ("Hydraulischer Abgleich", "Équilibrage hydraulique"),
        ),
        (
            ("Thermostatkopf", "Tête thermostatique", "pc", 12),
            ("Ventilunterteil 1/2 Zoll", "Corps de vanne 1/2 pouce", "pc", 12),
        ),
    ),
    _Job(
        ("Lüftungsanlage: Filterwechsel", "Ventilation : changement des filtres"),
        (
            "Halbjährlicher Filterwechsel der Komfortlüftung.",
            "Changement semestriel des filtres de la ventilation double flux.",
        ),
        (
            ("Filter gewechselt", "Filtres changés"),
            ("Ventilatoren gereinigt", "Ventilateurs nettoyés"),
            ("Luftmengen gemessen", "Débits d'air mesurés"),
        ),
        (("Filter F7", "Filtre F7", "pc", 4), ("Filter G4", "Filtre G4", "pc", 4)),
    ),
    _Job(
        ("Wärmepumpe in Betrieb nehmen", "Mise en service de la pompe à chaleur"),
        (
            "Inbetriebnahme der neuen Luft-Wasser-Wärmepumpe mit Einweisung der Eigentümer.",
            "Mise en service de la nouvelle pompe à chaleur air-eau et instruction des "
            "propriétaires.",
        ),
        (
            ("Kältekreis geprüft", "Circuit frigorifique contrôlé"),
            ("Regelung parametriert", "Régulation paramétrée"),
            ("Einweisung der Eigentümer", "Instruction des propriétaires"),
        ),
        (("Fühler Aussentemperatur", "Sonde de température extérieure", "pc", 1),),
    ),
    _Job(
        ("Badsanierung: Sanitärinstallation", "Rénovation de salle de bains : sanitaire"),
        (
            "Neue Apparate nach Plan der Bauherrschaft.",
            "Nouveaux appareils selon le plan du maître d'ouvrage.",
        ),
        (
            ("Alte Apparate demontiert", "Anciens appareils démontés"),
            ("Leitungen neu verlegt", "Conduites reposées"),
            ("Dusche und Lavabo montiert", "Douche et lavabo posés"),
            ("WC montiert und angeschlossen", "WC posé et raccordé"),
        ),
        (
            ("Mehrschichtverbundrohr 16 mm", "Tube multicouche 16 mm", "m", 12),
            ("Unterputzspülkasten", "Réservoir encastré", "pc", 1),
            ("Waschtischmischer", "Mitigeur de lavabo", "pc", 1),
        ),
    ),
    _Job(
        ("Heizungsausfall beheben", "Panne de chauffage"),
        (
            "Keine Wärme in den oberen Wohnungen, Mieter frieren.",
            "Plus de chauffage dans les étages supérieurs, les locataires ont froid.",
        ),
        (
            ("Störung am Brenner behoben", "Dérangement du brûleur corrigé"),
            ("Umwälzpumpe ersetzt", "Circulateur remplacé"),
            ("Heizkörper entlüftet", "Radiateurs purgés"),
        ),
        (("Umwälzpumpe", "Circulateur", "pc", 1), ("Entlüftungsventil", "Purgeur", "pc", 3)),
    ),
    _Job(
        ("WC-Spülkasten reparieren", "Réparation de la chasse d'eau"),
        ("Spülkasten läuft ständig nach.", "La chasse d'eau coule en permanence."),
        (
            ("Füllventil ersetzt", "Robinet flotteur remplacé"),
            ("Ablaufventil neu abgedichtet", "Soupape de vidage rendue étanche"),
        ),
        (
            ("Füllventil", "Robinet flotteur", "pc", 1),
            ("Dichtung Ablaufventil", "Joint de soupape", "pc", 2),
        ),
    ),
    _Job(
        ("Enthärtungsanlage warten", "Entretien de l'adoucisseur d'eau"),
        ("Jährliche Wartung der Enthärtungsanlage.", "Entretien annuel de l'adoucisseur."),
        (
            ("Harz desinfiziert", "Résine désinfectée"),
            ("Wasserhärte gemessen und eingestellt", "Dureté de l'eau mesurée et réglée"),
        ),
        (("Regeneriersalz", "Sel de régénération", "kg", 50),),
    ),
)

STATUS_CHOICES = {
    "future": (("planned", 0.94), ("cancelled", 0.06)),
    "recent": (("in_progress", 0.6), ("completed", 0.3), ("cancelled", 0.1)),
    "past": (("completed", 0.5), ("invoiced", 0.42), ("cancelled", 0.08)),
}
ACCESS_NOTES = (
    ("Schlüssel beim Hauswart.", "Clés chez le concierge."),
    ("Zugang über die Tiefgarage.", "Accès par le parking souterrain."),
    ("Mieter vorgängig informieren.", "Prévenir les locataires à l'avance."),
    ("Nur vormittags möglich.", "Uniquement le matin."),
)
CAPTIONS = (
    ("Zustand vorher", "État avant intervention"),
    ("Zustand nachher", "État après intervention"),
    ("Typenschild", "Plaque signalétique"),
    ("Schadenstelle", "Endroit du dégât"),
    ("Übersicht Technikraum", "Vue d'ensemble du local technique"),
    ("Detailaufnahme", "Détail"),
)
# Some technicians record the final check as an item of its own.
CLOSING_STEP = ("Abschlusskontrolle und Reinigung", "Contrôle final et nettoyage")
# Short visits are the common case, full days the exception.
HOURS = (0.5, 1.0, 1.0, 1.5, 1.5, 2.0, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0)


# --- Email templates: every kind in every language the clients read ---------------------------


class _Wording(msgspec.Struct, frozen=True, kw_only=True):
    """One language's templates: a name, subject and motivation per kind, one closing and one
    signature. `{at}` is where the building's address goes, when the order has one."""

    at: str
    work_report: tuple[str, str, str]
    photos: tuple[str, str, str]
    photos_pdf_name: str
    offer: tuple[str, str, str]
    general: tuple[str, str, str]
    # Made from a client's reply on the order: thanks, their words quoted, then the answer.
    reply: tuple[str, str, str]
    report_filename: str
    closing: str
    phone: str


_WORDINGS: dict[Language, _Wording] = {
    "de": _Wording(
        at="{% if building.address %}, Liegenschaft {{ building.address }}{% endif %}",
        work_report=(
            "Arbeitsrapport senden",
            "Arbeitsrapport Auftrag {{ order.number }}"
            "{% if building.address %}, {{ building.address }}{% endif %}",
            "Im Anhang erhalten Sie den Arbeitsrapport zu unserem Auftrag {{ order.number }} "
            "«{{ order.title }}»{at}. Darin sind die ausgeführten Arbeiten, das verwendete "
            "Material und der Zeitaufwand festgehalten.\n\n"
            "Für Fragen zum Rapport stehen wir Ihnen gerne zur Verfügung.",
        ),
        photos=(
            "Fotodokumentation senden",
            "Fotodokumentation Auftrag {{ order.number }}"
            "{% if building.address %}, {{ building.address }}{% endif %}",
            "Im Anhang senden wir Ihnen die Fotodokumentation zu unserem Auftrag "
            "{{ order.number }} «{{ order.title }}»{at}. Die Aufnahmen zeigen den Zustand vor "
            "Ort und die ausgeführten Arbeiten.",
        ),
        photos_pdf_name="Fotodokumentation als PDF senden",
        offer=(
            "Offerte senden",
            "Offerte {{ order.title }} (Auftrag {{ order.number }})",
            "Vielen Dank für Ihre Anfrage. Im Anhang erhalten Sie unsere Offerte für "
            "«{{ order.title }}»{at}.\n\n"
            "Die Offerte ist 30 Tage gültig. Gerne beantworten wir Ihre Fragen und freuen uns "
            "auf Ihren Auftrag.",
        ),
        general=(
            "Allgemeine Nachricht",
            "Auftrag {{ order.number }}: {{ order.title }}",
            "Wir melden uns bei Ihnen zu unserem Auftrag {{ order.number }} "
            "«{{ order.title }}»{at}.",
        ),
        reply=(
            "Antwort an den Kunden",
            "Re: {{ reply.subject }}",
            "Vielen Dank für Ihre Nachricht vom {{ reply.date }}. Sie schrieben:\n\n"
            "{{ reply.quote }}",
        ),
        report_filename="Arbeitsrapport {{ order.number }} {{ client.name }} {{ today }}",
        closing="Freundliche Grüsse",
        phone="Tel.",
    ),
    "fr": _Wording(
        at="{% if building.address %}, {{ building.address }}{% endif %}",
        work_report=(
            "Envoyer le rapport de travail",
            "Rapport de travail, commande {{ order.number }}"
            "{% if building.address %}, {{ building.address }}{% endif %}",
            "Vous trouverez ci-joint le rapport de travail de notre commande {{ order.number }} "
            "« {{ order.title }} »{at}. Il récapitule les travaux effectués, le matériel "
            "utilisé et les heures de travail.\n\n"
            "Nous restons volontiers à votre disposition pour toute question.",
        ),
        photos=(
            "Envoyer la documentation photo",
            "Documentation photo, commande {{ order.number }}"
            "{% if building.address %}, {{ building.address }}{% endif %}",
            "Vous trouverez ci-joint la documentation photo de notre commande "
            "{{ order.number }} « {{ order.title }} »{at}. Les photos montrent la situation "
            "sur place et les travaux réalisés.",
        ),
        photos_pdf_name="Envoyer la documentation photo en PDF",
        offer=(
            "Envoyer l'offre",
            "Offre {{ order.title }} (commande {{ order.number }})",
            "Nous vous remercions de votre demande. Vous trouverez ci-joint notre offre pour "
            "« {{ order.title }} »{at}.\n\n"
            "L'offre est valable 30 jours. Nous restons à votre disposition pour toute question "
            "et nous réjouissons de recevoir votre commande.",
        ),
        general=(
            "Message général",
            "Commande {{ order.number }} : {{ order.title }}",
            "Nous revenons vers vous au sujet de notre commande {{ order.number }} "
            "« {{ order.title }} »{at}.",
        ),
        reply=(
            "Répondre au client",
            "Re: {{ reply.subject }}",
            "Nous vous remercions de votre message du {{ reply.date }}. Vous nous avez écrit :\n\n"
            "{{ reply.quote }}",
        ),
        report_filename="Rapport de travail {{ order.number }} {{ client.name }} {{ today }}",
        closing="Meilleures salutations",
        phone="Tél.",
    ),
    "it": _Wording(
        at="{% if building.address %} presso {{ building.address }}{% endif %}",
        work_report=(
            "Inviare il rapporto di lavoro",
            "Rapporto di lavoro, ordine {{ order.number }}"
            "{% if building.address %}, {{ building.address }}{% endif %}",
            "In allegato trova il rapporto di lavoro del nostro ordine {{ order.number }} "
            "«{{ order.title }}»{at}. Il rapporto riporta i lavori eseguiti, il materiale "
            "impiegato e le ore di lavoro.\n\n"
            "Restiamo volentieri a Sua disposizione per qualsiasi domanda.",
        ),
        photos=(
            "Inviare la documentazione fotografica",
            "Documentazione fotografica, ordine {{ order.number }}"
            "{% if building.address %}, {{ building.address }}{% endif %}",
            "In allegato Le inviamo la documentazione fotografica del nostro ordine "
            "{{ order.number }} «{{ order.title }}»{at}. Le foto mostrano la situazione sul "
            "posto e i lavori eseguiti.",
        ),
        photos_pdf_name="Inviare la documentazione fotografica in PDF",
        offer=(
            "Inviare l'offerta",
            "Offerta {{ order.title }} (ordine {{ order.number }})",
            "La ringraziamo per la Sua richiesta. In allegato trova la nostra offerta per "
            "«{{ order.title }}»{at}.\n\n"
            "L'offerta è valida 30 giorni. Restiamo volentieri a disposizione per eventuali "
            "domande e saremmo lieti di ricevere il Suo incarico.",
        ),
        general=(
            "Messaggio generale",
            "Ordine {{ order.number }}: {{ order.title }}",
            "La contattiamo in merito al nostro ordine {{ order.number }} «{{ order.title }}»{at}.",
        ),
        reply=(
            "Rispondere al cliente",
            "Re: {{ reply.subject }}",
            "La ringraziamo per il Suo messaggio del {{ reply.date }}. Ci ha scritto:\n\n"
            "{{ reply.quote }}",
        ),
        report_filename="Rapporto di lavoro {{ order.number }} {{ client.name }} {{ today }}",
        closing="Cordiali saluti",
        phone="Tel.",
    ),
    "en": _Wording(
        at="{% if building.address %} at {{ building.address }}{% endif %}",
        work_report=(
            "Send work report",
            "Work report, order {{ order.number }}"
            "{% if building.address %}, {{ building.address }}{% endif %}",
            "Please find attached the work report for our order {{ order.number }} "
            "“{{ order.title }}”{at}. It lists the work carried out, the materials used and "
            "the hours worked.\n\n"
            "Please do not hesitate to contact us if you have any questions.",
        ),
        photos=(
            "Send photo documentation",
            "Photo documentation, order {{ order.number }}"
            "{% if building.address %}, {{ building.address }}{% endif %}",
            "Please find attached the photo documentation for our order {{ order.number }} "
            "“{{ order.title }}”{at}. The photos show the situation on site and the work "
            "carried out.",
        ),
        photos_pdf_name="Send photo documentation as PDF",
        offer=(
            "Send quotation",
            "Quotation {{ order.title }} (order {{ order.number }})",
            "Thank you for your enquiry. Please find attached our quotation for "
            "“{{ order.title }}”{at}.\n\n"
            "The quotation is valid for 30 days. We will be pleased to answer any questions "
            "and look forward to hearing from you.",
        ),
        general=(
            "General message",
            "Order {{ order.number }}: {{ order.title }}",
            "We are writing to you about our order {{ order.number }} “{{ order.title }}”{at}.",
        ),
        reply=(
            "Answer the client",
            "Re: {{ reply.subject }}",
            "Thank you for your message of {{ reply.date }}. You wrote:\n\n{{ reply.quote }}",
        ),
        report_filename="Work report {{ order.number }} {{ client.name }} {{ today }}",
        closing="Kind regards",
        phone="Phone",
    ),
}


def demo_templates() -> list[TemplateIn]:
    """The templates every demo company gets: for each language, a work report, photo
    documentation as images and as one PDF, an offer, a general message and the answer to a
    client's reply."""
    templates: list[TemplateIn] = []
    for language, w in _WORDINGS.items():
        signature = (
            "{{ employee.full_name }}\n{{ company.name }}\n"
            "{{ company.street }}, {{ company.postal_code }} {{ company.city }}\n"
            f"{w.phone} {{{{ company.phone }}}}\n{{{{ company.website }}}}"
        )
        kinds: list[tuple[TemplateKind, tuple[str, str, str], list[AttachmentSource], bool]] = [
            (TemplateKind.WORK_REPORT, w.work_report, [AttachmentSource.WORK_REPORT], False),
            (TemplateKind.PHOTO_DOCUMENTATION, w.photos, [AttachmentSource.PHOTOS], False),
            (
                TemplateKind.PHOTO_DOCUMENTATION,
                (w.photos_pdf_name, *w.photos[1:]),
                [AttachmentSource.PHOTOS],
                True,
            ),
            (TemplateKind.OFFER, w.offer, [AttachmentSource.DOCUMENTS], False),
            (TemplateKind.GENERAL, w.general, [], False),
            (TemplateKind.REPLY, w.reply, [], False),
        ]
        templates.extend(
            TemplateIn(
                kind=kind,
                language=language,
                name=name,
                subject=subject,
                greeting="{{ greeting }}",
                motivation=motivation.replace("{at}", w.at),
                closing=w.closing,
                signature=signature,
                attachment_filename=w.report_filename if kind is TemplateKind.WORK_REPORT else "",
                attachments=attachments,
                photos_as_pdf=as_pdf,
            )
            for kind, (name, subject, motivation), attachments, as_pdf in kinds
        )
    return templates


def _template_row(company_id: int, template: TemplateIn) -> EmailTemplate:
    return EmailTemplate(
        company=company_id,
        **{
            **msgspec.structs.asdict(template),
            "kind": template.kind.value,
            "attachments": [a.value for a in template.attachments],
        },
    )


# --- The plan: every row to insert, as plain values --------------------------------------------


class _EmployeePlan(msgspec.Struct, frozen=True, kw_only=True):
    first_name: str
    last_name: str
    email: str
    roles: frozenset[Role]
    locale: str
    phone: str


class _ContactPlan(msgspec.Struct, frozen=True, kw_only=True):
    salutation: str
    first_name: str
    last_name: str
    function: str
    email: str
    phone: str
    language: str


class _BuildingPlan(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    street: str
    postal_code: str
    city: str
    contacts: list[_ContactPlan]


class _ClientPlan(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    name: str
    street: str
    postal_code: str
    city: str
    phone: str
    email: str
    language: str
    contacts: list[_ContactPlan]
    buildings: list[_BuildingPlan]


class _WorkPlan(msgspec.Struct, frozen=True, kw_only=True):
    date: date
    technician: str
    hours: float
    description: str


class _MaterialPlan(msgspec.Struct, frozen=True, kw_only=True):
    article: str
    quantity: float
    unit: str


class _PhotoPlan(msgspec.Struct, frozen=True, kw_only=True):
    caption: str
    filename: str
    taken_at: datetime
    taken_by: str
    uploaded_at: datetime
    seed: int


class _OrderPlan(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    title: str
    description: str
    remarks: str
    status: str
    client: int
    buildings: list[int]
    responsible: list[str]
    start_date: date
    end_date: date | None
    created_at: datetime
    work: list[_WorkPlan]
    materials: list[_MaterialPlan]
    photos: list[_PhotoPlan]


class _CompanyPlan(msgspec.Struct, frozen=True, kw_only=True):
    spec: _CompanySpec
    employees: list[_EmployeePlan]
    clients: list[_ClientPlan]
    orders: list[_OrderPlan]


def _slug(text: str, separator: str = ".") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = "".join(ch if ch.isalnum() else " " for ch in ascii_text.lower()).split()
    return separator.join(words)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _phone(rng: random.Random, area_code: str, *, mobile: bool) -> str:
    prefix = rng.choice(("76", "78", "79")) if mobile else area_code
    return f"+41 {prefix} {rng.randint(200, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TIME)


class _Planner:
    """Draws the demo from one generator; the order of the draws is what makes it repeatable."""

    def __init__(self, rng: random.Random, spec: _CompanySpec) -> None:
        self.rng = rng
        self.spec = spec
        # Which half of the (German, French) pairs that orders are written with.
        self.lang = 0 if spec.language == "de" else 1
        self.used_emails: set[str] = set()
        self.used_addresses: set[str] = set()
        self.used_names: set[str] = set()

    def company(self, orders: int) -> _CompanyPlan:
        employees = [
            _EmployeePlan(
                first_name=s.first_name,
                last_name=s.last_name,
                email=f"{s.mailbox}@{self.spec.domain}",
                roles=s.roles,
                locale=s.locale,
                phone=_phone(self.rng, self.spec.area_code, mobile=True),
            )
            for s in self.spec.staff
        ]
        clients = [self.client(n) for n in range(CLIENTS_PER_COMPANY)]
        return _CompanyPlan(
            spec=self.spec,
            employees=employees,
            clients=clients,
            orders=self.orders(orders, clients, employees),
        )

    def address(self) -> tuple[str, str, str]:
        while True:
            street = f"{self.rng.choice(self.spec.streets)} {self.rng.randint(1, 120)}"
            postal_code, city = self.rng.choice(self.spec.places).split(" ", 1)
            if f"{street}, {city}" not in self.used_addresses:
                self.used_addresses.add(f"{street}, {city}")
                return street, postal_code, city

    def email(self, local_part: str, language: str) -> str:
        domain = self.rng.choice(LANGUAGES[language].mail_domains)
        address, n = f"{local_part}@{domain}", 1
        # Namesakes get a number, so that every contact has a mailbox of their own.
        while address in self.used_emails:
            n += 1
            address = f"{local_part}{n}@{domain}"
        self.used_emails.add(address)
        return address

    def person(self, language: str, *, owner: bool = False, last_name: str = "") -> _ContactPlan:
        names = LANGUAGES[language]
        is_man = self.rng.random() < 0.5
        first_name = self.rng.choice(names.men if is_man else names.women)
        last_name = last_name or self.rng.choice(names.family_names)
        if owner:
            function = names.owner_man if is_man else names.owner_woman
        else:
            function = self.rng.choice(names.functions_men if is_man else names.functions_women)
        # About one person in five has no address on file, so is not offered as a recipient.
        has_email = self.rng.random() < 0.8
        return _ContactPlan(
            salutation="mr" if is_man else "ms",
            first_name=first_name,
            last_name=last_name,
            function=function,
            email=self.email(_slug(f"{first_name} {last_name}"), language) if has_email else "",
            phone=_phone(self.rng, self.spec.area_code, mobile=self.rng.random() < 0.5)
            if self.rng.random() < 0.85
            else "",
            language=language,
        )

    def desk(self, language: str, client_name: str) -> _ContactPlan:
        """A shared mailbox with a function but no person, greeted neutrally."""
        function = self.rng.choice(LANGUAGES[language].desks)
        return _ContactPlan(
            salutation="none",
            first_name="",
            last_name="",
            function=function,
            email=self.email(f"{_slug(function, '-')}.{_slug(client_name, '-')[:24]}", language),
            phone=_phone(self.rng, self.spec.area_code, mobile=False),
            language=language,
        )

    def client(self, n: int) -> _ClientPlan:
        language = _pick(self.rng, self.spec.client_languages)
        names = LANGUAGES[language]
        private = self.rng.random() < 0.15
        # Two clients of one name would be confused in every list; draw again.
        while True:
            family_name = self.rng.choice(names.family_names)
            street, postal_code, city = self.address()
            name = (names.household if private else self.rng.choice(names.firms)).format(
                last=family_name, word=self.rng.choice(names.words), street=street, city=city
            )
            if name not in self.used_names:
                self.used_names.add(name)
                break
        if private:
            # A household: the owners are the contact, and their house is the one building.
            contacts = [self.person(language, owner=True, last_name=family_name)]
            buildings = [
                _BuildingPlan(
                    name=self.spec.house,
                    street=street,
                    postal_code=postal_code,
                    city=city,
                    contacts=[],
                )
            ]
        else:
            contacts = [self.person(language) for _ in range(self.rng.choice((1, 1, 2)))]
            if self.rng.random() < 0.25:
                contacts.append(self.desk(language, name))
            buildings = [self.building(language) for _ in range(self.rng.choice((1, 1, 2, 3)))]
        return _ClientPlan(
            number=f"{self.spec.client_prefix}-{1001 + n}",
            name=name,
            street=street,
            postal_code=postal_code,
            city=city,
            phone=_phone(self.rng, self.spec.area_code, mobile=private),
            email="" if private else self.email(_slug(name, "-")[:40], language),
            language=language,
            contacts=contacts,
            buildings=buildings,
        )

    def building(self, language: str) -> _BuildingPlan:
        street, postal_code, city = self.address()
        # Half the buildings have someone on site, usually the caretaker.
        contacts = [self.person(language)] if self.rng.random() < 0.5 else []
        return _BuildingPlan(
            name=self.rng.choice(self.spec.building_kinds),
            street=street,
            postal_code=postal_code,
            city=city,
            contacts=contacts,
        )

    def orders(
        self, count: int, clients: list[_ClientPlan], employees: list[_EmployeePlan]
    ) -> list[_OrderPlan]:
        days = (YEAR_END - YEAR_START).days - 21
        created = sorted(
            _at(
                YEAR_START + timedelta(days=self.rng.randrange(days)),
                self.rng.randint(7, 17),
                self.rng.randrange(60),
            )
            for _ in range(count)
        )
        first_number = self.rng.randint(101, 199)
        # Numbers rise with creation time, as an office's numbering does.
        return [
            self.order(f"2026-{first_number + i:04d}", created_at, clients, employees)
            for i, created_at in enumerate(created)
        ]

    def order(
        self,
        number: str,
        created_at: datetime,
        clients: list[_ClientPlan],
        employees: list[_EmployeePlan],
    ) -> _OrderPlan:
        rng, lang = self.rng, self.lang
        job = rng.choice(JOBS)
        client = rng.randrange(len(clients))
        site_count = len(clients[client].buildings)
        buildings = rng.sample(range(site_count), k=min(site_count, rng.choice((1, 1, 1, 2))))
        start = min(created_at.date() + timedelta(days=rng.randint(1, 21)), YEAR_END)
        age = (AS_OF - start).days
        period = "future" if age < 0 else "recent" if age < 30 else "past"
        status = _pick(rng, STATUS_CHOICES[period])
        end: date | None = min(start + timedelta(days=rng.choice((0, 0, 1, 2, 5, 10))), YEAR_END)
        if status == "cancelled" or (status == "planned" and rng.random() < 0.3):
            end = None

        technicians = [e.email for e in employees if T in e.roles]
        dispatchers = [e.email for e in employees if D in e.roles]
        lead = rng.choice(technicians if rng.random() < 0.75 else dispatchers)
        responsible = [lead]
        if rng.random() < 0.4:
            second = rng.choice(dispatchers if lead in technicians else technicians)
            responsible.append(second)
        crew = [e for e in responsible if e in technicians] or [rng.choice(technicians)]

        # Work is recorded only once it was done: planned and cancelled orders have none.
        work: list[_WorkPlan] = []
        materials: list[_MaterialPlan] = []
        photos: list[_PhotoPlan] = []
        if status in ("in_progress", "completed", "invoiced"):
            last_day = min(end or start, AS_OF) if status == "in_progress" else end or start
            span = max((last_day - start).days, 0)
            steps = [step for step in job.steps if rng.random() < 0.7] or [job.steps[0]]
            if rng.random() < 0.3:
                steps.append(CLOSING_STEP)
            # Steps are listed in the order they are done, so their days are sorted too.
            days = sorted(start + timedelta(days=rng.randint(0, span)) for _ in steps)
            work = [
                _WorkPlan(
                    date=day,
                    technician=rng.choice(crew),
                    hours=rng.choice(HOURS),
                    description=step[lang],
                )
                for step, day in zip(steps, days, strict=True)
            ]
            for article_de, article_fr, unit, most in rng.sample(
                job.materials, k=rng.randint(0, len(job.materials))
            ):
                # Pipe is cut to the half metre; everything else comes in whole units.
                quantity = (
                    rng.randint(1, most * 2) / 2 if unit == "m" else float(rng.randint(1, most))
                )
                materials.append(
                    _MaterialPlan(
                        article=(article_de, article_fr)[lang], quantity=quantity, unit=unit
                    )
                )
            if rng.random() < 0.4:
                photos = self.photos(work)

        remarks = rng.choice(ACCESS_NOTES)[lang] if rng.random() < 0.4 else ""
        return _OrderPlan(
            number=number,
            title=job.title[lang],
            description=job.description[lang],
            remarks=remarks,
            status=status,
            client=client,
            buildings=buildings,
            responsible=responsible,
            start_date=start,
            end_date=end,
            created_at=created_at,
            work=work,
            materials=materials,
            photos=photos,
        )

    def photos(self, work: list[_WorkPlan]) -> list[_PhotoPlan]:
        photos = []
        for caption in self.rng.sample(CAPTIONS, k=self.rng.randint(1, 3)):
            item = self.rng.choice(work)
            taken_at = _at(item.date, self.rng.randint(7, 16), self.rng.randrange(60))
            photos.append(
                _PhotoPlan(
                    caption=caption[self.lang],
                    filename=f"IMG_{taken_at:%Y%m%d_%H%M%S}.jpg",
                    taken_at=taken_at,
                    taken_by=item.technician,
                    uploaded_at=taken_at + timedelta(minutes=self.rng.randint(2, 240)),
                    seed=self.rng.getrandbits(32),
                )
            )
        return photos


# --- Photos: drawn here, then through the upload path into the blob store ----------------------


class _StoredPhoto(msgspec.Struct, frozen=True, kw_only=True):
    image_sha256: str
    thumbnail_sha256: str
    content_type: str
    width: int
    height: int
    size: int
    taken_at: datetime | None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's built-in font lacks umlauts and accents; DejaVu, where installed, has them.
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _draw_photo(spec: _CompanySpec, order: _OrderPlan, photo: _PhotoPlan) -> bytes:
    """A JPEG that looks like a site photo from afar and says which order it belongs to."""
    rng = _rng(photo.seed)
    width, height = PHOTO_SIZE
    dark = ImageColor.getrgb(spec.brand_colour)
    light = (rng.randrange(150, 240), rng.randrange(150, 240), rng.randrange(150, 240))
    gradient = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize(PHOTO_SIZE)
    image = ImageOps.colorize(gradient, black=dark, white=light)
    draw = ImageDraw.Draw(image)
    # Pipes, a tank and a gauge, placed at random, so that the photos differ at a glance.
    for _ in range(rng.randint(2, 4)):
        y = rng.randrange(40, 420)
        colour = rng.choice(((184, 115, 51), (150, 150, 150), (60, 90, 160)))
        draw.line([(0, y), (width, y)], fill=colour, width=rng.randint(10, 24))
    left = rng.randrange(60, 520)
    draw.rounded_rectangle([left, 60, left + 180, 400], radius=30, fill=(235, 235, 230))
    cx, cy = rng.randrange(80, 720), rng.randrange(80, 360)
    draw.ellipse([cx - 45, cy - 45, cx + 45, cy + 45], fill=(250, 250, 250), outline=(30, 30, 30))
    draw.line([(cx, cy), (cx + rng.randint(-40, 40), cy - 35)], fill=(200, 0, 0), width=4)
    draw.rectangle([0, 440, width, height], fill=(25, 25, 25))
    draw.text((24, 450), order.number, fill="white", font=_font(44))
    draw.text((24, 506), photo.caption, fill="white", font=_font(28))
    footer = f"{order.title[:48]} · {spec.name} · {photo.taken_at:%d.%m.%Y %H:%M}"
    draw.text((24, 556), footer, fill=(200, 200, 200), font=_font(18))
    # The camera's clock, as a phone writes it: the upload path reads "taken at" from here.
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = (
        f"{photo.taken_at:%Y:%m:%d %H:%M:%S}"
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


async def _store_photos(
    plans: list[_CompanyPlan], created: list[str]
) -> dict[tuple[int, int, int], _StoredPhoto]:
    """Draw, check and store every photo, a few at a time; `created` collects new blobs."""
    settings = get_settings()
    store = blob_store()
    # Drawing and encoding are CPU work that Pillow does mostly outside the GIL.
    limiter = anyio.CapacityLimiter(os.cpu_count() or 1)
    stored: dict[tuple[int, int, int], _StoredPhoto] = {}

    async def one(key: tuple[int, int, int], spec: _CompanySpec, order: _OrderPlan) -> None:
        photo = order.photos[key[2]]

        def draw_and_check() -> IngestedPhoto:
            return ingest_photo(
                _draw_photo(spec, order, photo),
                max_bytes=settings.max_photo_bytes,
                max_pixels=settings.max_photo_pixels,
                time_zone=str(LOCAL_TIME),
            )

        checked = await anyio.to_thread.run_sync(draw_and_check, limiter=limiter)
        image_ref, image_new = await store.put(checked.image)
        thumbnail_ref, thumbnail_new = await store.put(checked.thumbnail)
        created.extend(
            ref.sha256
            for ref, new in ((image_ref, image_new), (thumbnail_ref, thumbnail_new))
            if new
        )
        stored[key] = _StoredPhoto(
            image_sha256=image_ref.sha256,
            thumbnail_sha256=thumbnail_ref.sha256,
            content_type=checked.content_type,
            width=checked.width,
            height=checked.height,
            size=image_ref.size,
            taken_at=checked.taken_at,
        )

    async with anyio.create_task_group() as tasks:
        for c, plan in enumerate(plans):
            for o, order in enumerate(plan.orders):
                for p in range(len(order.photos)):
                    tasks.start_soon(one, (c, o, p), plan.spec, order)
    return stored


# --- The rows ------------------------------------------------------------------------------


async def _insert(table: type[Table], rows: Sequence[Table]) -> None:
    """Insert in statements of as many rows as the parameter limit allows; Piccolo then sets
    each row's `id`, which the rows inserted next refer to."""
    size = max(1, MAX_PARAMETERS // len(table._meta.columns))
    for start in range(0, len(rows), size):
        await table.insert(*rows[start : start + size])


async def _write_company(
    plan: _CompanyPlan,
    index: int,
    password_hash: str,
    photos: dict[tuple[int, int, int], _StoredPhoto],
) -> None:
    spec = plan.spec
    company = Company(
        name=spec.name,
        street=spec.street,
        postal_code=spec.postal_code,
        city=spec.city,
        phone=spec.phone,
        email=f"info@{spec.domain}",
        website=f"https://www.{spec.domain}",
        brand_colour=spec.brand_colour,
        sender_address=f"{spec.sender_mailbox}@{spec.domain}",
    )
    await _insert(Company, [company])
    company_id = int(company.id)
    await _insert(EmailTemplate, [_template_row(company_id, t) for t in demo_templates()])

    # Through the accounts module, so the demo employees pass the same checks as real ones.
    employee_ids = {
        e.email: await create_employee(
            company_id=company_id,
            first_name=e.first_name,
            last_name=e.last_name,
            email=e.email,
            roles=e.roles,
            password_hash=password_hash,
            phone=e.phone,
            locale=e.locale,
        )
        for e in plan.employees
    }

    clients = [
        Client(
            company=company_id,
            number=c.number,
            name=c.name,
            street=c.street,
            postal_code=c.postal_code,
            city=c.city,
            phone=c.phone,
            email=c.email,
            language=c.language,
        )
        for c in plan.clients
    ]
    await _insert(Client, clients)
    buildings = [
        [
            Building(
                company=company_id,
                client=client.id,
                name=b.name,
                street=b.street,
                postal_code=b.postal_code,
                city=b.city,
            )
            for b in c.buildings
        ]
        for c, client in zip(plan.clients, clients, strict=True)
    ]
    await _insert(Building, [b for sites in buildings for b in sites])

    def contact(p: _ContactPlan, *, client: Client | None, building: Building | None) -> Contact:
        return Contact(
            company=company_id,
            client=client.id if client else None,
            building=building.id if building else None,
            salutation=p.salutation,
            first_name=p.first_name,
            last_name=p.last_name,
            function=p.function,
            email=p.email,
            phone=p.phone,
            language=p.language,
        )

    contacts = [
        contact(p, client=client, building=None)
        for c, client in zip(plan.clients, clients, strict=True)
        for p in c.contacts
    ] + [
        contact(p, client=None, building=building)
        for c, sites in zip(plan.clients, buildings, strict=True)
        for b, building in zip(c.buildings, sites, strict=True)
        for p in b.contacts
    ]
    await _insert(Contact, contacts)

    orders = [
        Order(
            company=company_id,
            number=o.number,
            title=o.title,
            description=o.description,
            remarks=o.remarks,
            status=o.status,
            client=clients[o.client].id,
            start_date=o.start_date,
            end_date=o.end_date,
            created_at=o.created_at,
        )
        for o in plan.orders
    ]
    await _insert(Order, orders)
    pairs = list(zip(plan.orders, orders, strict=True))
    await _insert(
        OrderBuilding,
        [
            OrderBuilding(company=company_id, order=row.id, building=buildings[o.client][b].id)
            for o, row in pairs
            for b in o.buildings
        ],
    )
    await _insert(
        OrderResponsible,
        [
            OrderResponsible(company=company_id, order=row.id, employee=employee_ids[email])
            for o, row in pairs
            for email in o.responsible
        ],
    )
    await _insert(
        WorkItem,
        [
            WorkItem(
                company=company_id,
                order=row.id,
                date=w.date,
                technician=employee_ids[w.technician],
                hours=w.hours,
                description=w.description,
            )
            for o, row in pairs
            for w in o.work
        ],
    )
    await _insert(
        Material,
        [
            Material(
                company=company_id,
                order=row.id,
                article=m.article,
                quantity=m.quantity,
                unit=m.unit,
            )
            for o, row in pairs
            for m in o.materials
        ],
    )
    photo_rows = []
    for n, (o, row) in enumerate(pairs):
        for p, photo in enumerate(o.photos):
            blob = photos[index, n, p]
            photo_rows.append(
                Photo(
                    company=company_id,
                    order=row.id,
                    image_sha256=blob.image_sha256,
                    thumbnail_sha256=blob.thumbnail_sha256,
                    content_type=blob.content_type,
                    width=blob.width,
                    height=blob.height,
                    size=blob.size,
                    caption=photo.caption,
                    original_filename=photo.filename,
                    taken_at=blob.taken_at,
                    taken_by=employee_ids[photo.taken_by],
                    uploaded_at=photo.uploaded_at,
                )
            )
    await _insert(Photo, photo_rows)


async def _reason_not_to_load(*, if_empty: bool) -> str | None:
    if if_empty and await Company.exists():
        return "Database already has data; demo data not loaded."
    # Sign-in addresses are unique across companies, so a second demo cannot be added.
    if await Employee.exists().where(Employee.email.is_in(SIGN_IN_EMAILS)):
        return "The demo employees exist already; demo data not loaded."
    return None


async def load_demo_data(*, if_empty: bool, orders_per_company: int = 200, seed: int = 4711) -> str:
    """Load the two demo companies; answer with one line that says what was loaded."""
    if reason := await _reason_not_to_load(if_empty=if_empty):
        return reason
    rng = _rng(seed)
    plans = [_Planner(rng, spec).company(orders_per_company) for spec in COMPANIES]
    # One hash for all: argon2 is slow on purpose, and the demo password is the same for all.
    password_hash = await anyio.to_thread.run_sync(hash_password, PASSWORD)
    created: list[str] = []
    try:
        photos = await _store_photos(plans, created)
        async with transaction():
            # Asked again inside the transaction (on SQLite, under the write lock): another
            # process may have loaded meanwhile. Its rows may point at the same blobs (same
            # seed, same bytes), so those are kept.
            if reason := await _reason_not_to_load(if_empty=if_empty):
                return reason
            for index, plan in enumerate(plans):
                await _write_company(plan, index, password_hash, photos)
    except BaseException:
        store = blob_store()
        for sha in created:
            await store.discard(sha)
        raise
    orders = [o for p in plans for o in p.orders]
    return (
        f"Loaded {len(plans)} companies, {sum(len(p.employees) for p in plans)} employees, "
        f"{sum(len(p.clients) for p in plans)} clients, {len(orders)} orders, "
        f"{sum(len(o.photos) for o in orders)} photos. Sign in as {SIGN_IN_EMAILS[0]} "
        f"with the password {PASSWORD}."
    )
