// settings.js: "Indstillinger": one daily mail instead of one per event
// (GET/PUT /me/alerts), and who one is logged in as.

import { ApiError, get, put } from '../api.js';
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
