// index.html's own script (kept out of the page so a strict Content-Security-Policy, script-src
// 'self', allows it): ?embed=1 shows the calculator alone, for iframes.
const embed = new URLSearchParams(location.search).get('embed') === '1';
if (embed) document.documentElement.classList.add('embed');
document.addEventListener('DOMContentLoaded', () => {
  if (!embed) return;
  document.body.classList.add('embed');
  document.querySelector('headroom-calculator')?.setAttribute('compact', '');
});
