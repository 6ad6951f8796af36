/**
 * The sound and the notification of a station verdict, so a technician hears a card finish from across the
 * bench: a short rising tone for a card to remove, a falling one for a card that failed, and a desktop
 * notification when the page may show one. Web Audio and the Notification API only (nothing is fetched,
 * so the Content-Security-Policy needs no exception); anything the platform refuses is skipped silently.
 */

export interface VerdictAlert {
  title: string;
  body: string;
  good: boolean;
}

export interface VerdictAlerts {
  /** Called from a user's click (arming): audio may start and the notification permission may be asked. */
  prepare(): void;
  announce(alert: VerdictAlert): void;
}

type AudioContextClass = new () => AudioContext;

/** Alerts through the page's own Web Audio and Notification API. */
export function browserAlerts(win: Window & typeof globalThis): VerdictAlerts {
  let audio: AudioContext | null = null;
  const AudioCtor = (win as unknown as { AudioContext?: AudioContextClass }).AudioContext;
  const Notify = (win as unknown as { Notification?: typeof Notification }).Notification;

  const tone = (frequencies: number[]): void => {
    if (audio === null) return;
    const start = audio.currentTime + 0.02;
    frequencies.forEach((frequency, i) => {
      if (audio === null) return;
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = 'sine';
      oscillator.frequency.value = frequency;
      const at = start + i * 0.18;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.17);
    });
  };

  return {
    prepare() {
      try {
        if (audio === null && AudioCtor) audio = new AudioCtor();
        void audio?.resume().catch(() => undefined);
      } catch {
        audio = null;
      }
      try {
        if (Notify && Notify.permission === 'default') void Notify.requestPermission().catch(() => undefined);
      } catch {
        // Some hosts have no notifications at all.
      }
    },
    announce(alert) {
      try {
        tone(alert.good ? [660, 880] : [440, 330, 220]);
      } catch {
        // No sound here.
      }
      try {
        if (Notify && Notify.permission === 'granted') new Notify(alert.title, { body: alert.body, silent: true });
      } catch {
        // No notifications here.
      }
    },
  };
}

/** Alerts that do nothing (tests, hosts without sound). */
export const silentAlerts: VerdictAlerts = { prepare: () => undefined, announce: () => undefined };
