import './strictCsp.ts';
import { ConnectivityView } from './connectivity/ConnectivityView.ts';
import { EmbedApp } from './embed/EmbedApp.ts';
import { App } from './ui/App.ts';
import './styles.css';

const root = document.getElementById('app')!;
if (location.pathname === '/connectivity') {
  // The connection test needs no sign-in and no call state: just its own view.
  root.replaceChildren(new ConnectivityView(new URLSearchParams(location.search)).el);
} else {
  // The embed frame (`/embed/call/:room`) is the same app driven by the host page over postMessage.
  const app = location.pathname.startsWith('/embed/') ? new EmbedApp(root) : new App(root);
  void app.start().catch((err: unknown) => {
    console.error(err);
    root.textContent = `Something went wrong: ${String(err)}`;
  });
}
