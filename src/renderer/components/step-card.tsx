/** One of the three big steps: a round icon, a small title, the chosen thing in large type, and its action. */
import type { DragEvent, ReactNode } from 'react';
import { Icon, type IconName } from './icon';

interface StepCardProps {
  id: string;
  number: number;
  title: string;
  icon: IconName;
  /** 'done' once something is chosen; 'busy' while this step shows the running job; 'idle' when inactive. */
  state: 'todo' | 'done' | 'busy' | 'idle';
  children: ReactNode;
  className?: string;
  dropHandlers?: {
    onDragOver(event: DragEvent<HTMLElement>): void;
    onDragLeave(): void;
    onDrop(event: DragEvent<HTMLElement>): void;
  };
  testId?: string;
}

export function StepCard({ id, number, title, icon, state, children, className, dropHandlers, testId }: StepCardProps) {
  return (
    <section className={`step step-${state}${className ? ` ${className}` : ''}`} aria-labelledby={id} data-testid={testId} {...dropHandlers}>
      <div className="step-icon">
        <Icon name={icon} />
        <span className="step-number" aria-hidden="true">
          {number}
        </span>
      </div>
      <h2 id={id} className="step-title">
        {title}
      </h2>
      {children}
    </section>
  );
}
