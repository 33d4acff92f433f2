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
};

export const FLAG_KIND = {
  missing: 'Mangler',
  imprecise: 'Upræcis',
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
export function allocationText(a) {
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
      return `Målgruppe ${a.value || range(a.from, a.to)}`;
    default:
      return `${a.kind} ${a.value || range(a.from, a.to)}`;
  }
}
