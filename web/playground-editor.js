// The playground's code editor (issue 24): CodeMirror 6 (npm `codemirror`, `@codemirror/lang-python`,
// `@codemirror/view`, `@codemirror/state`, exact versions in package.json) with Python highlighting.
// This file is the bundle's entry, not loaded by the page as is: the wasm build bundles it with esbuild
// into <web-dist>/playground-editor.mjs (CMakeLists.txt, target playground_assets), which web/playground.js
// imports, so the page needs neither node_modules nor a CDN.
// createEditor(parent, text, {onRun}) -> {get(), set(text), selectLine(n)}; Ctrl/Cmd+Enter runs, Tab
// inserts four spaces (Escape then Tab leaves the editor, CodeMirror's rule).
import { EditorView, basicSetup } from 'codemirror';
import { keymap } from '@codemirror/view';
import { EditorState, Prec } from '@codemirror/state';
import { python } from '@codemirror/lang-python';

export function createEditor(parent, text, { onRun } = {}) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        basicSetup,
        python(),
        EditorState.tabSize.of(4),
        Prec.highest(keymap.of([
          { key: 'Mod-Enter', run: () => { onRun?.(); return true; } },
          { key: 'Tab', run: (v) => { v.dispatch(v.state.replaceSelection('    ')); return true; } },
        ])),
        EditorView.contentAttributes.of({ 'aria-label': 'Python code', id: 'pg-code' }),
      ],
    }),
  });
  return {
    get: () => view.state.doc.toString(),
    set(t) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t }, selection: { anchor: 0 },
        scrollIntoView: true });
    },
    // Selects line n (1-based) and scrolls it into view.
    selectLine(n) {
      const line = view.state.doc.line(Math.min(Math.max(1, n), view.state.doc.lines));
      view.dispatch({ selection: { anchor: line.from, head: line.to }, scrollIntoView: true });
      view.focus();
    },
  };
}
