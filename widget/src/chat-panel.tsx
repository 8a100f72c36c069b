import { h } from 'preact';
import type { ChatModel } from './chat-model.js';
import type { WidgetView } from './widget-view.js';
import { Composer } from './composer.js';
import { CloseIcon, NewIcon } from './icons.js';
import { MessageList } from './message-list.js';
import { Ask } from './handoff-form.js';

/**
 * A non-modal dialog: the page stays usable beside it on wide screens, so focus is not trapped;
 * it takes focus on open (the textbox, see Composer) and Escape closes it.
 *
 * The panel's buttons carry no `type` except the composer's Stop: a button's default type
 * (submit) only means something inside a form, and the shadow root keeps the page's forms out.
 */
export function ChatPanel({ model, view }: { model: ChatModel; view: WidgetView }) {
  const { t, dir, lang } = view.locale;
  const s = view.settings.value;
  const picker = s.modelPicker && s.models.length > 1;
  // A hand-off carries a conversation: offered once there is one.
  const offer = s.handoff && !!model.conversationId.value;
  return (
    <div
      class="panel"
      role="dialog"
      aria-labelledby="cd-title"
      dir={dir}
      lang={lang}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          view.setOpen(false);
        }
      }}
    >
      <div class="head">
        {s.avatar && <img class="avatar" src={s.avatar} alt="" />}
        <h2 id="cd-title">{s.title}</h2>
        {s.demo && <span class="badge">{t.demo}</span>}
        {picker && (
          <select
            aria-label={t.model}
            value={model.model.value ?? s.models[0]?.id}
            onChange={(e) => (model.model.value = e.currentTarget.value)}
          >
            {s.models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
        )}
        <button aria-label={t.newConversation} onClick={model.reset}>
          <NewIcon />
        </button>
        <button aria-label={t.hide} onClick={() => view.setOpen(false)}>
          <CloseIcon />
        </button>
      </div>
      <MessageList model={model} view={view} />
      <Composer model={model} view={view} />
      {(s.supportUrl || offer) && (
        <div class="foot">
          {offer && <Ask model={model} view={view} />}
          {s.supportUrl && (
            <a href={s.supportUrl} target="_blank" rel="noopener noreferrer">
              {t.contact}
            </a>
          )}
        </div>
      )}
    </div>
  );
}
