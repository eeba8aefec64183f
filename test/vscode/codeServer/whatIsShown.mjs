// What a screenshot shows, read from the page at the moment it is taken, so that a test can
// assert on the picture instead of only saving it: for each part of the workbench (side bar,
// editor, panel, status bar, and the suggest and hover widgets when open) whether it is on the
// screen, the text it renders, its list or tree rows in the viewport, and how much of its area
// is drawn in something other than its background colour (from the screenshot's own pixels).

/** The workbench's parts and widgets, by the DOM that VS Code 1.100 and 1.139 both render. */
const parts = {
  sidebar: '#workbench\\.parts\\.sidebar',
  editor: '#workbench\\.parts\\.editor',
  panel: '#workbench\\.parts\\.panel',
  statusbar: '#workbench\\.parts\\.statusbar',
  suggest: '.editor-widget.suggest-widget',
  hover: '.monaco-hover',
  // The quick pick (Build on Remote's machine picker, …) while it is open.
  quickInput: '.quick-input-widget',
  notifications: '.notifications-toasts',
  // The list the bell opens (notifications.showList): VS Code 1.139 puts a notification there
  // without a toast in these runs, so a test that must read one reads it here.
  notificationCenter: '.notifications-center',
  // The terminal draws its text on a canvas: only its ink says whether it shows any.
  terminal: '.terminal-wrapper.active .xterm-screen',
};

/**
 * @param {import('playwright-core').Page} page
 * @param {Buffer} png the screenshot just taken
 * @returns {Promise<Record<string, { shown: boolean, text: string, rows: string[], actions: string[], inked: number }>>}
 */
export async function whatIsShown(page, png) {
  return page.evaluate(
    async ({ parts, png }) => {
      const viewport = { width: window.innerWidth, height: window.innerHeight };
      const onScreen = (rect) =>
        rect.width > 0 &&
        rect.height > 0 &&
        rect.right > 0 &&
        rect.bottom > 0 &&
        rect.left < viewport.width &&
        rect.top < viewport.height;
      const visible = (element) => {
        if (!onScreen(element.getBoundingClientRect())) return false;
        for (let e = element; e; e = e.parentElement) {
          const style = getComputedStyle(e);
          if (style.display === 'none' || style.visibility === 'hidden' || Number(style.opacity) === 0) return false;
          if (e.classList.contains('hidden')) return false;
        }
        return true;
      };
      const words = (text) => text.replace(/\s+/g, ' ').trim();
      // A row's pieces (a tree item's label, description, badge) as separate words: innerText
      // runs a label into its description ("nix.conf2 machines").
      const rowText = (row) =>
        words(
          [...row.querySelectorAll('*')]
            .filter((e) => e.children.length === 0 && visible(e))
            .map((e) => e.textContent)
            .join(' '),
        );

      // The screenshot's pixels, to measure how much of a part is drawn.
      const image = new Image();
      image.src = `data:image/png;base64,${png}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext('2d', { willReadFrequently: true });
      context.drawImage(image, 0, 0);
      const scale = image.width / viewport.width;
      /** The share of the rectangle's pixels that differ from its most common colour. */
      const inked = (rect) => {
        const x = Math.max(0, Math.floor(rect.left * scale));
        const y = Math.max(0, Math.floor(rect.top * scale));
        const width = Math.min(image.width - x, Math.ceil(rect.width * scale));
        const height = Math.min(image.height - y, Math.ceil(rect.height * scale));
        if (width <= 0 || height <= 0) return 0;
        const data = context.getImageData(x, y, width, height).data;
        const counts = new Map();
        for (let i = 0; i < data.length; i += 4) {
          const colour = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
          counts.set(colour, (counts.get(colour) ?? 0) + 1);
        }
        const background = Math.max(...counts.values());
        return (width * height - background) / (width * height);
      };

      const shown = {};
      for (const [name, selector] of Object.entries(parts)) {
        const element = [...document.querySelectorAll(selector)].find(visible);
        if (!element) {
          shown[name] = { shown: false, text: '', rows: [], actions: [], inked: 0 };
          continue;
        }
        // Top to bottom as drawn: a list reuses its row elements, so their DOM order is not that.
        const rows = [...element.querySelectorAll('.monaco-list-row')]
          .filter(visible)
          .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
          .map(rowText)
          .filter(Boolean);
        // The buttons drawn on a row (a tree item's inline actions, on the selected or hovered row):
        // icons without text, so named by their labels, as "row label: action, action".
        const actions = [...element.querySelectorAll('.monaco-list-row')]
          .filter(visible)
          .map((row) => {
            const labels = [...row.querySelectorAll('.actions .action-label')]
              .filter(visible)
              .map((a) => a.getAttribute('aria-label') || a.title);
            return labels.length
              ? `${words(row.querySelector('.label-name')?.textContent ?? rowText(row))}: ${labels.join(', ')}`
              : '';
          })
          .filter(Boolean);
        shown[name] = {
          shown: true,
          text: words(element.innerText),
          rows,
          actions,
          inked: inked(element.getBoundingClientRect()),
        };
      }
      return shown;
    },
    { parts, png: png.toString('base64') },
  );
}
