// about.js: the Tilgængelighed page (#/tilgaengelighed) — Stafet's
// accessibility statement (tilgængelighedserklæring) laid out as
// Digitaliseringsstyrelsen's template: scope, compliance status, content
// that is not accessible, how it was tested, feedback and contact, and the
// enforcement procedure. Shown with and without a login.

import { h } from '../dom.js';

/** When the statement was prepared and the test it rests on was last run. */
const PREPARED = '6. december 2026';

const list = (...items) => h('ul', {}, items.map((x) => h('li', {}, x)));

function scope() {
  return [
    h('h2', {}, 'Hvad erklæringen dækker'),
    h('p', {}, 'Erklæringen dækker hele Stafet: log ind, Mine opgaver, Indbakke, Udbakke, Kladder, ',
      'søgning efter kolleger og enheder, Find modtager, overdragelsesnotatet (skrive, sende, modtage, ',
      'returnere, rette og acceptere), Kvalitet, Indstillinger og denne side.'),
    h('p', {}, 'Kommunen er som offentlig myndighed forpligtet til at gøre Stafet tilgængelig efter ',
      'lov om tilgængelighed af offentlige organers websteder og mobilapplikationer (lov nr. 692 af 8. juni 2018). ',
      'Kravet er standarden EN 301 549, som svarer til WCAG 2.1 på niveau AA.'),
  ];
}

function status() {
  return [
    h('h2', {}, 'Overholdelsesstatus'),
    h('p', {}, 'Stafet er ', h('strong', {}, 'delvist i overensstemmelse'), ' med WCAG 2.1 på niveau AA. ',
      'De automatiske test finder ingen fejl på niveau A og AA, men Stafet er endnu ikke gennemgået ',
      'manuelt i sin helhed. Det, vi ved ikke er i orden, står under »Kendte mangler«.'),
  ];
}

function tested() {
  return [
    h('h2', {}, 'Sådan er Stafet testet'),
    list(
      'Automatisk test med axe-core (reglerne for WCAG 2.0 og 2.1, niveau A og AA) i Chromium på hver side og i de vigtigste tilstande: '
        + 'log ind og forkert adgangskode, Mine opgaver, Indbakke, Udbakke, Kladder, søgning med resultater, en kollega, en enhed, '
        + 'Find modtager med et svar, et nyt notat med fejl vist, et sendt notat, et returneret notat, Kvalitet, Indstillinger og denne side.',
      'Hver side er testet i to bredder: en pc-skærm (1366 × 900 pixel) og en mobiltelefon (390 × 844 pixel). '
        + 'Ved 390 pixel må intet på siden kunne rulles til siden.',
      'Test med tastatur alene (Tab, Enter, mellemrum og Escape): at logge ind, finde modtageren og starte et notat, '
        + 'åbne menuen på en telefon, markere et afsnit og åbne en opgave fra Mine opgaver; at fokus altid er synligt, '
        + 'og at linket »Spring til indholdet« er det første, man møder.',
      'Zoom til 200 %, uden at indholdet skal rulles vandret.',
      'At ingen synlig tekst er et kodeord, en tom værdi eller engelsk i stedet for dansk.',
    ),
    h('p', {}, 'Testene er en del af Stafets automatiske test og køres, før en ny udgave tages i brug. Stafet bygger på Det Fælles Designsystem, ',
      'som Digitaliseringsstyrelsen og Erhvervsstyrelsen udgiver til offentlige selvbetjeningsløsninger.'),
  ];
}

function gaps() {
  return [
    h('h2', {}, 'Kendte mangler'),
    h('p', {}, 'Følgende indhold er ikke fuldt tilgængeligt:'),
    list(
      'Stafet er ikke testet af brugere med skærmlæser (for eksempel JAWS, NVDA eller VoiceOver). '
        + 'Automatiske test kan ikke afgøre, om alt læses op i en rækkefølge, der giver mening.',
      'Diagrammerne på siden Kvalitet er figurer. De samme tal står i tabellen på siden og i CSV-filen, der kan hentes.',
      'Den tekst, kolleger skriver i et notat, afhænger af dem. Stafet hjælper med overskrifter og tjek, '
        + 'men kan ikke sikre, at teksten er let at læse.',
    ),
    h('p', {}, 'Vi retter manglerne, efterhånden som de findes. Skriv til os, hvis du møder andre.'),
  ];
}

function feedback() {
  return [
    h('h2', {}, 'Feedback og kontakt'),
    h('p', {}, 'Hvis du oplever problemer med tilgængeligheden i Stafet, eller har du brug for oplysninger fra Stafet ',
      'i en anden form, så kontakt kommunens it-support – den samme, du bruger til dine andre fagsystemer. ',
      'Skriv »Tilgængelighed i Stafet« i emnet, hvilken side det drejer sig om, og hvad der skete.'),
    h('p', {}, 'Kommunen offentliggør også denne erklæring med sin egen kontaktadresse på ',
      'Digitaliseringsstyrelsens løsning til tilgængelighedserklæringer (was.digst.dk).'),
  ];
}

function enforcement() {
  return [
    h('h2', {}, 'Håndhævelse'),
    h('p', {}, 'Digitaliseringsstyrelsen fører tilsyn med, at offentlige organer overholder loven om webtilgængelighed. ',
      'Hvis du har klaget til kommunen og ikke er tilfreds med svaret, kan du klage til Ligebehandlingsnævnet. ',
      'Nævnet behandler klager over manglende tilgængelighed og over kommunens svar på en henvendelse om tilgængelighed.'),
    h('p', {}, 'Ligebehandlingsnævnet: ', h('span', { class: 'nowrap' }, 'ligebehandlingsnaevnet.dk'), '.'),
  ];
}

/** The page: render(el, ctx) as every page; it reads nothing from the server. */
export function render(el) {
  document.title = 'Tilgængelighed – Stafet';
  el.append(h('article', { class: 'statement' },
    h('h1', { class: 'page-title', tabindex: '-1' }, 'Tilgængelighedserklæring for Stafet'),
    h('p', { class: 'lead' }, 'Stafet skal kunne bruges af alle medarbejdere, også med skærmlæser, forstørrelse, ',
      'tastatur alene eller på en mobiltelefon. Her står, hvor langt vi er, og hvordan du siger til, hvis noget ikke virker.'),
    scope(), status(), tested(), gaps(), feedback(), enforcement(),
    h('h2', {}, 'Udarbejdelse af erklæringen'),
    h('p', {}, `Erklæringen blev udarbejdet den ${PREPARED} på grundlag af de test, der er beskrevet ovenfor. `,
      'Den opdateres, når Stafet ændres, eller når der findes nye mangler.')));
}

export default render;
