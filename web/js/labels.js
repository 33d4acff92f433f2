// labels.js: the Danish words the pages use for the API's codes.

export const STATUS = {
  draft: 'Kladde',
  submitted: 'Sendt',
  received: 'Modtaget',
  returned: 'Returneret',
  accepted: 'Godkendt',
  withdrawn: 'Trukket tilbage',
};

export const STATUS_ORDER = ['draft', 'submitted', 'received', 'returned', 'accepted', 'withdrawn'];

export const ACTION = {
  create: 'Oprettet',
  edit: 'Redigeret',
  submit: 'Sendt',
  receive: 'Åbnet af modtager',
  return: 'Returneret',
  accept: 'Godkendt',
  withdraw: 'Trukket tilbage',
  forward: 'Videresendt',
  reroute: 'Omdirigeret',
  reply: 'Svar på markering',
};

export const FLAG_KIND = {
  missing: 'Mangler',
  imprecise: 'Upræcist',
};

export const EMPLOYMENT = [
  ['job', 'I job'],
  ['education', 'Under uddannelse'],
  ['employment_case', 'Har en beskæftigelsessag'],
  ['education_case', 'Har en uddannelsessag'],
  ['pension_assessment', 'Under afklaring til førtidspension'],
  ['disability_pension', 'Tilkendt førtidspension'],
  ['old_age_pension', 'Modtager folkepension'],
];

export const CONSENT_BASIS = [
  ['consent', 'Samtykke fra borgeren'],
  ['law', 'Lovkrav (hjemmel i loven)'],
  ['significant_importance', 'Væsentlig betydning for modtagerens opgave'],
];

export const FIXED_SECTIONS = {
  citizen: 'Borgeren',
  planned_date: 'Planlagt overdragelsesdato',
  receiver: 'Modtager',
};

export const ROLE = {
  caseworker: 'Sagsbehandler',
  lead: 'Leder',
  quality: 'Kvalitetsopfølgning',
  admin: 'Administrator',
};

/** "Fødselsdag 11.–20.", "Efternavn A–F", "Distrikt Vollsmose" … */
export function allocationText(a, names) {
  if (!a) return '';
  const range = (from, to) => (from === to || to === undefined ? `${from}` : `${from}–${to}`);
  switch (a.kind) {
    case 'birthday':
      return `Fødselsdag ${range(a.from, a.to).replace(/(\d+)/g, '$1.')}`;
    case 'surname':
      return a.value ? `Efternavn ${a.value}` : `Efternavn ${range(a.from, a.to)}`;
    case 'district':
      return `Distrikt ${a.value || range(a.from, a.to)}`;
    case 'school_district':
      return `Skoledistrikt ${a.value || range(a.from, a.to)}`;
    case 'target_group':
      return `Målgruppe: ${targetGroupName(a.value, names) || range(a.from, a.to)}`;
    default:
      return `Fordeling: ${a.value || range(a.from, a.to)}`;
  }
}

// -- dates -----------------------------------------------------------------------------------
// Shown as Danes write them, dd-mm-åååå; the API and <input type=date> keep ISO.

const pad2 = (n) => String(n).padStart(2, '0');

/** "2026-03-03" (or an RFC 3339 time's date part) → "03-03-2026"; '' for nothing. */
export function dateText(iso) {
  if (!iso) return '';
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:$|T)/.exec(String(iso));
  return m ? `${m[3]}-${m[2]}-${m[1]}` : String(iso);
}

/** An RFC 3339 time in local time: "02-12-2026 kl. 14.05". */
export function dateTimeText(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${pad2(d.getDate())}-${pad2(d.getMonth() + 1)}-${d.getFullYear()} kl. ${pad2(d.getHours())}.${pad2(d.getMinutes())}`;
}

/** Whole days from today (local) to the ISO date: 0 today, -2 two days ago; null for no date. */
export function daysUntil(iso, now = new Date()) {
  const m = /^(\d{4})-(\d\d)-(\d\d)/.exec(String(iso || ''));
  if (!m) return null;
  const due = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((due - today) / 86400000);
}

/** How soon: "i dag", "i morgen", "om 3 dage", "overskredet i går", "overskredet for 4 dage siden". */
export function dueText(iso, now = new Date()) {
  const n = daysUntil(iso, now);
  if (n === null) return '';
  if (n === 0) return 'i dag';
  if (n === 1) return 'i morgen';
  if (n > 1) return `om ${n} dage`;
  if (n === -1) return 'overskredet i går';
  return `overskredet for ${-n} dage siden`;
}

// -- names for the API's codes -----------------------------------------------------------------

/** A target group's name: the API's name when given, else the slug made readable ("socialt-udsat" → "Socialt udsat"). */
export function targetGroupName(slug, names) {
  if (!slug) return '';
  if (names && names[slug]) return names[slug];
  const s = String(slug).replace(/[-_]+/g, ' ').trim();
  return s ? s[0].toLocaleUpperCase('da') + s.slice(1) : '';
}

/**
 * A person's target groups as names: the slugs in p.target_groups named by
 * p.target_group_names ({slug: name}, from the API), else made readable.
 */
export function targetGroupNames(list, names) {
  return (list || []).map((g) => (g && typeof g === 'object' ? (g.name || targetGroupName(g.slug || g.code, names)) : targetGroupName(g, names)))
    .filter(Boolean);
}

/** A KLE entry as "27.39.00 Ungeindsats" when its name is known: an "NN.NN.NN" string or {number, name}. */
export function kleText(k, names) {
  if (!k) return '';
  if (typeof k === 'object') return k.name ? `${k.number || k.code} ${k.name}` : String(k.number || k.code || '');
  const name = names && names[k];
  return name ? `${k} ${name}` : String(k);
}

/** A route's short name for lists: its short_name, else its name without the closing bracket. */
export function routeShortName(route) {
  if (!route) return '';
  if (route.short_name) return route.short_name;
  const n = String(route.name || route.code || '');
  return n.replace(/\s*\([^)]*\)\s*$/, '') || n;
}
