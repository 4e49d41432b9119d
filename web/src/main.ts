import { EmbedApp } from './embed/EmbedApp.ts';
import { App } from './ui/App.ts';
import './styles.css';

const root = document.getElementById('app')!;
// The embed frame (`/embed/call/:room`) is the same app driven by the host page over postMessage.
const app = location.pathname.startsWith('/embed/') ? new EmbedApp(root) : new App(root);
void app.start().catch((err: unknown) => {
  console.error(err);
  root.textContent = `Something went wrong: ${String(err)}`;
});
