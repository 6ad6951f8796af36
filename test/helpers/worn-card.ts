/**
 * The worn card: the card fixture (card.ts) used for its fault plan, under the names the worn-card tests
 * were written with. A WornCardFault is a CardBlockPlan entry of the `faults` plan.
 */
export {
  isMounted,
  startCard as startWornCard,
  type Card as WornCard,
  type CardBlockPlan as WornCardFault,
  type CardOptions as WornCardOptions,
  type CardStats as WornCardStats,
} from './card';
