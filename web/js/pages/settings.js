// settings.js: "Indstillinger": one daily mail instead of one per event
// (GET/PUT /me/alerts), one's deadlines as a calendar to subscribe to
// (POST/DELETE /me/calendar), and who one is logged in as.

import { ApiError, del, get, post, put } from '../api.js';
import { fmtDateTime, h, newId, notice, replace } from '../dom.js';
import { ROLE } from '../labels.js';
import { state, unitName } from '../state.js';

export async function render(el) {
  el.append(h('h1', { class: 'page-title' }, 'Indstillinger'));
  const id = newId('digest');
  const hintId = newId('hint');
  const box = h('input', { type: 'checkbox', id, name: 'digest', 'aria-describedby': hintId, disabled: true });
  const status = h('div', { role: 'status', class: 'settings__status' });
  el.append(h('section', { class: 'card card--wide', 'aria-labelledby': 'mail-h' },
    h('h2', { id: 'mail-h' }, 'Mails fra Stafet'),
    h('div', { class: 'field field--inline' }, box, h('label', { for: id, class: 'field__label' }, 'Én samlet mail om dagen')),
    h('p', { id: hintId, class: 'field__hint' },
      'I stedet for en mail for hver hændelse (et nyt notat, en returnering, en godkendelse) får du én mail om dagen med det hele. Mailene indeholder aldrig personoplysninger.'),
    status));

  el.append(calendarSection());

  const me = state.me;
  const roles = (me.roles || []).map((r) => `${ROLE[r.role] || r.role}${r.unit ? ` (${unitName(r.unit)})` : ''}`);
  el.append(h('section', { class: 'card card--wide', 'aria-labelledby': 'me-h' },
    h('h2', { id: 'me-h' }, 'Du er logget ind som'),
    h('dl', { class: 'details' },
      h('dt', {}, 'Navn'), h('dd', {}, me.display_name),
      h('dt', {}, 'Brugernavn'), h('dd', {}, me.username),
      h('dt', {}, 'Enhed'), h('dd', {}, me.unit ? `${me.unit.name} (${me.unit.code})` : '—'),
      h('dt', {}, 'Roller'), h('dd', {}, roles.join(', ') || '—'),
      me.session ? [h('dt', {}, 'Sessionen udløber'), h('dd', {}, fmtDateTime(me.session.expires_at))] : null)));

  const { data } = await get('/me/alerts');
  box.checked = !!data.digest;
  box.disabled = false;
  box.addEventListener('change', async () => {
    const want = box.checked;
    box.disabled = true;
    try {
      const res = await put('/me/alerts', { digest: want });
      box.checked = !!res.data.digest;
      replace(status, notice('success', res.data.digest
        ? 'Gemt: du får én samlet mail om dagen.'
        : 'Gemt: du får en mail for hver hændelse.'));
    } catch (e) {
      box.checked = !want;
      replace(status, notice('error', e instanceof ApiError ? e.userMessage : 'Indstillingen kunne ikke gemmes.'));
    } finally {
      box.disabled = false;
      box.focus();
    }
  });
  return undefined;
}

/** Copies the text of a read-only field: the Clipboard API, else the old way. */
async function copyField(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch (e) {
    input.focus();
    input.select();
    try {
      return document.execCommand('copy');
    } catch (e2) {
      return false;
    }
  }
}

/** "Abonnér på mine frister": a secret calendar address for Outlook, shown once. */
function calendarSection() {
  const status = h('div', { role: 'status', class: 'settings__status' });
  const result = h('div', { class: 'calendar-feed' });
  const subscribe = h('button', { type: 'button', class: 'button button--primary' }, 'Abonnér på mine frister');
  const stop = h('button', { type: 'button', class: 'button' }, 'Stop abonnementet');

  subscribe.addEventListener('click', async () => {
    subscribe.disabled = true;
    try {
      const { data } = await post('/me/calendar', undefined);
      const id = newId('calendar-url');
      const hintId = newId('hint');
      const input = h('input', { id, type: 'text', class: 'form-input field__input', readonly: true, value: data.url, 'aria-describedby': hintId });
      const copy = h('button', { type: 'button', class: 'button' }, 'Kopiér');
      copy.addEventListener('click', async () => {
        replace(status, await copyField(input)
          ? notice('success', 'Adressen er kopieret. Indsæt den i Outlook.')
          : notice('warning', 'Adressen kunne ikke kopieres automatisk. Markér den, og kopiér den selv.'));
      });
      replace(result,
        h('div', { class: 'field' },
          h('label', { for: id, class: 'field__label' }, 'Adressen til din kalender'),
          input,
          h('p', { id: hintId, class: 'field__hint' },
            'Adressen er personlig: del den ikke med andre. Den vises kun nu. Mister du den, så lav en ny – så holder den gamle op med at virke.')),
        h('p', { class: 'button-row' }, copy),
        h('ol', {},
          h('li', {}, 'Kopiér adressen.'),
          h('li', {}, 'I Outlook: vælg »Tilføj kalender« og derefter »Fra internettet« (eller »Abonner fra internettet«).'),
          h('li', {}, 'Indsæt adressen, og giv kalenderen et navn, fx »Stafet – mine frister«.')),
        h('p', {}, 'Outlook henter kalenderen igen af sig selv, så ændrede og aflyste frister følger med.'));
      subscribe.textContent = 'Lav en ny adresse';
      replace(status, notice('success', 'Din kalender er klar. Den gamle adresse virker ikke længere, hvis du havde en.'));
      input.focus();
      input.select();
    } catch (e) {
      replace(status, notice('error', e instanceof ApiError ? e.userMessage : 'Kalenderen kunne ikke oprettes.'));
    } finally {
      subscribe.disabled = false;
    }
  });

  stop.addEventListener('click', async () => {
    stop.disabled = true;
    try {
      await del('/me/calendar');
      replace(result);
      subscribe.textContent = 'Abonnér på mine frister';
      replace(status, notice('success', 'Abonnementet er stoppet. Adressen virker ikke længere; fjern kalenderen i Outlook.'));
    } catch (e) {
      replace(status, notice('error', e instanceof ApiError ? e.userMessage : 'Abonnementet kunne ikke stoppes.'));
    } finally {
      stop.disabled = false;
    }
  });

  return h('section', { class: 'card card--wide', 'aria-labelledby': 'calendar-h' },
    h('h2', { id: 'calendar-h' }, 'Mine frister i kalenderen'),
    h('p', {}, 'Få dine frister i Outlook eller en anden kalender: planlagte overdragelser, frister for at tage stilling til og rette notater, fristerne efter Barnets Lov og handlingernes frister – som heldagsbegivenheder.'),
    h('p', {}, 'Kalenderen viser kun referencenumre, ruter og enheder – aldrig CPR-numre, navne eller tekst fra notaterne.'),
    h('p', { class: 'button-row' }, subscribe, stop),
    result, status);
}
