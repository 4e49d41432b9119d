import { App } from './ui/App.ts';
import './styles.css';

const root = document.getElementById('app')!;
void new App(root).start().catch((err: unknown) => {
  console.error(err);
  root.textContent = `Something went wrong: ${String(err)}`;
});
