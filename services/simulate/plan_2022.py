"""The plan of SYD-IT's 2022 beyond the daily flow: its changes, incidents and freeze.

Read from the interim report (delårsrapport 2022): the core switches of the network
upgrade (Sydnet 2.0) were replaced on spring evenings and caused a couple of network
incidents; the process engine behind the application e-service and the
economic-assistance e-service failed several times, twice even inside the change
freeze that has held since midsummer; the mobile-device management moves from
Workspace ONE to Intune (a few test users before summer, waves in the autumn); the
M365 licences were switched to cheaper device licences before the end of June.
Dates and titles are invented to fit that account; the seed only moves minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = ("Askersund", "Hallsberg", "Laxå", "Lekeberg")


@dataclass(frozen=True, slots=True)
class Change:
    key: str  # how an incident names the planned work that caused it
    service: str
    at: str  # local wall-clock start
    hours: int  # planned length
    title: str
    emergency: bool = False


@dataclass(frozen=True, slots=True)
class Incident:
    service: str
    at: str  # local wall-clock opening
    severity: int
    impact: str
    municipalities: tuple[str, ...]
    hours: tuple[float, float]  # range of the time to resolve
    title: str
    planned_work: str | None = None  # Change.key
    reported_as: str | None = None  # ticket category users report it under, if they notice


CHANGES = (
    Change("m365-1", "m365", "2022-02-16T18:00", 2, "Villkorsstyrd åtkomst för delade datorer"),
    Change("sydnet-1", "network", "2022-03-22T19:00", 3, "Sydnet 2.0: byte av coreswitch i Hallsberg"),
    Change("m365-2", "m365", "2022-04-20T18:00", 2, "Nya lagringsprinciper i SharePoint"),
    Change("sydnet-2", "network", "2022-04-26T19:00", 3, "Sydnet 2.0: byte av coreswitch i Askersund"),
    Change("mdm-1", "mdm", "2022-05-11T10:00", 2, "Intune: pilot med testanvändare"),
    Change("sydnet-3", "network", "2022-05-24T19:00", 3, "Sydnet 2.0: byte av coreswitchar i Laxå och Lekeberg"),
    Change("mdm-2", "mdm", "2022-06-15T10:00", 2, "Intune: fler testanvändare från Workspace ONE"),
    Change("m365-3", "m365", "2022-06-21T18:00", 2, "Byte till enhetslicenser för delade datorer"),
    # Inside the freeze and no emergency: the period's one violation.
    Change("m365-4", "m365", "2022-07-06T10:00", 1, "Ändrad Teams-policy för externa möten"),
    # Inside the freeze, an emergency fix let through by the head of department.
    Change("pm-fix", "processmotor", "2022-07-14T06:30", 1, "Akut rättning av processmotorn", True),
    Change("mdm-3", "mdm", "2022-09-07T10:00", 2, "Intune: migrering, våg 1"),
    Change("sydnet-4", "network", "2022-09-20T19:00", 3, "Sydnet 2.0: ny gemensam kärna i drift"),
    Change("m365-5", "m365", "2022-09-28T18:00", 2, "Power BI för fler användare"),
    Change("mdm-4", "mdm", "2022-10-05T10:00", 2, "Intune: migrering, våg 2"),
    Change("sydnet-5", "network", "2022-10-25T19:00", 2, "Sydnet 2.0: gamla coreswitchar avvecklas"),
    Change("mdm-5", "mdm", "2022-11-09T10:00", 2, "Intune: migrering, våg 3"),
    Change("m365-6", "m365", "2022-11-23T18:00", 2, "Uppdaterade säkerhetsstandarder i M365"),
    Change("mdm-6", "mdm", "2022-12-07T10:00", 2, "Intune: migrering, våg 4"),
)  # fmt: skip

PM_DOWN = "Processmotorn nere: e-tjänst ansökan och ekonomiskt bistånd tar inte emot ansökningar"
INCIDENTS = (
    Incident("m365", "2022-01-19T09:40", 3, "degraded", ALL, (1, 3), "Teams-möten bryts", reported_as="Klient"),
    Incident("processmotor", "2022-02-08T10:10", 3, "degraded", ALL, (1.5, 3), "Processmotorn svarar långsamt", reported_as="E-tjänst"),
    Incident("network", "2022-03-22T19:40", 2, "outage", ("Hallsberg",), (1, 2.5), "Nätavbrott vid coreswitch-byte i Hallsberg", "sydnet-1"),
    Incident("processmotor", "2022-04-05T13:30", 2, "outage", ALL, (2, 4), PM_DOWN, reported_as="E-tjänst"),
    Incident("network", "2022-05-25T08:05", 2, "outage", ("Laxå", "Lekeberg"), (1, 2.5), "Nätavbrott i Laxå och Lekeberg efter gårdagens coreswitch-byte", "sydnet-3", "Nätverk"),
    Incident("processmotor", "2022-06-28T09:05", 2, "outage", ALL, (4, 6), PM_DOWN, reported_as="E-tjänst"),
    Incident("processmotor", "2022-07-13T14:20", 2, "outage", ALL, (2, 4), PM_DOWN, reported_as="E-tjänst"),
    Incident("mdm", "2022-09-07T13:00", 3, "degraded", ALL, (2, 5), "Mobiler tappar e-post efter flytt till Intune", "mdm-3", "Telefoni"),
    Incident("network", "2022-09-20T20:10", 3, "degraded", ALL, (0.5, 1.5), "Långsamt nät efter byte till ny kärna", "sydnet-4"),
    Incident("processmotor", "2022-10-11T08:50", 3, "degraded", ALL, (1, 3), "Processmotorn svarar långsamt", reported_as="E-tjänst"),
    # The late autumn, so that the live demo (the plan replayed in today's year) has an
    # incident in almost every month: August's freeze is the only quiet one.
    Incident("mdm", "2022-11-10T08:30", 3, "degraded", ALL, (1, 3), "Mobiler tappar e-post efter migreringsvåg 3", "mdm-5", "Telefoni"),
    Incident("m365", "2022-12-13T08:45", 3, "degraded", ALL, (1, 2.5), "Inloggningen i M365 går långsamt", reported_as="Behörighet"),
)  # fmt: skip

FREEZE = (
    "2022-06-20T09:00",  # declared
    "2022-06-24T00:00",  # from midsummer eve
    "2022-08-15T00:00",  # until the holidays are over
    "Förändringsstopp sedan midsommar: alla tekniska förändringar i våra miljöer fryses",
)
