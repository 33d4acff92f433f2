// Shows whether the service is ready; the caseworkers' pages build on this.
(function () {
  var el = document.getElementById('status');
  fetch('/readyz').then(function (r) {
    el.textContent = r.ok ? 'klar' : 'ikke klar (databasen svarer ikke)';
  }).catch(function () {
    el.textContent = 'kan ikke kontakte tjenesten';
  });
})();
