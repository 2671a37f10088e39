// The playground's code editor (issue 24): a plain <textarea> (monospace, Tab inserts four spaces,
// Ctrl/Cmd+Enter runs). createEditor(parent, text, {onRun}) -> {get(), set(text), selectLine(n)}.
export function createEditor(parent, text, { onRun } = {}) {
  const area = document.createElement('textarea');
  area.id = 'pg-code';
  area.spellcheck = false;
  area.autocapitalize = 'off';
  area.setAttribute('autocomplete', 'off');
  area.setAttribute('aria-label', 'Python code');
  area.rows = 24;
  area.value = text;
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      onRun?.();
    } else if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();
      area.setRangeText('    ', area.selectionStart, area.selectionEnd, 'end');
    }
  });
  parent.replaceChildren(area);
  return {
    get: () => area.value,
    set: (t) => { area.value = t; area.scrollTop = 0; },
    // Selects line n (1-based) and scrolls it into view.
    selectLine(n) {
      const lines = area.value.split('\n');
      const start = lines.slice(0, n - 1).reduce((s, l) => s + l.length + 1, 0);
      area.focus();
      area.setSelectionRange(start, start + (lines[n - 1] ?? '').length);
      const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 16;
      area.scrollTop = Math.max(0, (n - 5) * lineHeight);
    },
  };
}
