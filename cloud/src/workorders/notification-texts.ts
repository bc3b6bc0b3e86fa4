import { DateTime } from 'luxon';
import type { TextMail } from '../alarms/notifiers.js';
import type { WorkOrder } from './work-order-store.js';

/** What a team is told of. */
export const WORK_ORDER_NOTICE_EVENTS = ['created', 'assigned', 'response_breached', 'resolution_breached'] as const;
export type WorkOrderNoticeEvent = (typeof WORK_ORDER_NOTICE_EVENTS)[number];

/** The order as a notification carries it: where, what, who and the clocks (neither evidence nor the requester's contact). */
export type WorkOrderSummary = Pick<
  WorkOrder,
  | 'id' | 'number' | 'site' | 'title' | 'description' | 'category' | 'priority' | 'state' | 'origin' | 'asset' | 'building' | 'floor' | 'unit'
  | 'device' | 'team' | 'assignee' | 'createdAt' | 'responseDueAt' | 'resolutionDueAt' | 'respondedAt' | 'completedAt' | 'responseSla' | 'resolutionSla'
> & {
  /** the site's time zone, which e-mails give due times in */
  timeZone: string;
};

/** What a team's webhook receives as its JSON body, and what its e-mail is written from. */
export interface WorkOrderNotification {
  event: WorkOrderNoticeEvent;
  /** epoch ms when it happened */
  at: number;
  /** the assignee when it happened (the order may have been reassigned since) */
  assignee: string | null;
  order: WorkOrderSummary;
  /** epoch ms of this attempt */
  sentAt: number;
}

/**
 * What the notifier writes (e-mails, the breach lines of an order's history) in the language of the
 * facilities team (workOrders.language), as the raiser does: records read on a phone, not console screens.
 */
export function notificationTexts(lang: 'zh-CN' | 'en') {
  const zh = lang === 'zh-CN';
  return {
    lang,
    headline: (zh
      ? { created: '新工单', assigned: '工单已派单', response_breached: '工单响应超时', resolution_breached: '工单处理超时' }
      : { created: 'New work order', assigned: 'Work order assigned', response_breached: 'Work order response overdue', resolution_breached: 'Work order resolution overdue' }) satisfies Record<WorkOrderNoticeEvent, string>,
    whatHappened: (zh
      ? { created: '', assigned: '', response_breached: '已超过响应时限，仍无人开始处理。', resolution_breached: '已超过完成时限，仍未完工。' }
      : { created: '', assigned: '', response_breached: 'The response deadline has passed and nobody has started it.', resolution_breached: 'The resolution deadline has passed and it is not completed.' }) satisfies Record<WorkOrderNoticeEvent, string>,
    categories: (zh
      ? { electrical: '强电', plumbing: '给排水', hvac: '暖通空调', lift: '电梯', fire: '消防', security: '弱电安防', cleaning: '保洁', other: '其他' }
      : { electrical: 'electrical', plumbing: 'plumbing', hvac: 'HVAC', lift: 'lift', fire: 'fire', security: 'security', cleaning: 'cleaning', other: 'other' }) as Record<string, string>,
    priorities: (zh ? { 1: '紧急', 2: '高', 3: '普通', 4: '低' } : { 1: 'urgent', 2: 'high', 3: 'normal', 4: 'low' }) as Record<number, string>,
    states: (zh
      ? { open: '待派单', assigned: '已派单', in_progress: '维修中', on_hold: '挂起', completed: '已完工', closed: '已关闭', cancelled: '已取消' }
      : { open: 'open', assigned: 'assigned', in_progress: 'in progress', on_hold: 'on hold', completed: 'completed', closed: 'closed', cancelled: 'cancelled' }) as Record<string, string>,
    labels: zh
      ? { site: '项目', building: '楼栋', floor: '楼层', unit: '房号', asset: '设备', device: '装置', category: '类别', priority: '优先级', state: '状态', team: '班组', assignee: '处理人', nobody: '未派单', respondBy: '响应时限', resolveBy: '完成时限', description: '说明' }
      : { site: 'Site', building: 'building', floor: 'floor', unit: 'unit', asset: 'asset', device: 'device', category: 'Category', priority: 'Priority', state: 'State', team: 'Team', assignee: 'Assignee', nobody: 'nobody yet', respondBy: 'Respond by', resolveBy: 'Resolve by', description: 'Description' },
    sep: zh ? '：' : ': ',
    listSep: zh ? '，' : ', ',
    closing: (number: string) => (zh ? `请在 Gatehouse 控制台查看和处理工单 ${number}。` : `Open ${number} in the Gatehouse console to work on it.`),
    /** the history line of a deadline found breached */
    breachNote: (deadline: 'response' | 'resolution', due: string) =>
      zh
        ? `${deadline === 'response' ? '响应超时' : '处理超时'}：时限 ${due}`
        : `${deadline === 'response' ? 'response' : 'resolution'} deadline breached: due ${due}`,
  };
}

export type NotificationTexts = ReturnType<typeof notificationTexts>;

/** A time as people on the site read it: 2025-10-09 12:00 in its time zone. */
export function siteTime(ms: number, timeZone: string): string {
  return DateTime.fromMillis(ms, { zone: timeZone }).toFormat('yyyy-MM-dd HH:mm');
}

const SUBJECT_TITLE_MAX = 120;

/**
 * The plain-text e-mail of a notification. Titles and descriptions are people's text: the subject is
 * made one line (the channel does it too) and never anything is built as HTML.
 */
export function workOrderMail(n: WorkOrderNotification, texts: NotificationTexts, teamName: (id: string) => string): TextMail {
  const { order } = n;
  const sep = texts.sep;
  const title = order.title.replace(/\s+/g, ' ').trim();
  const short = title.length > SUBJECT_TITLE_MAX ? `${title.slice(0, SUBJECT_TITLE_MAX - 1)}…` : title;
  const who = n.event === 'assigned' && n.assignee ? ` → ${n.assignee}` : '';
  const subject = `[${order.number}] ${texts.headline[n.event]}${who}${sep}${short}`;
  const l = texts.labels;
  const place = [
    order.building && `${l.building} ${order.building}`,
    order.floor && `${l.floor} ${order.floor}`,
    order.unit && `${l.unit} ${order.unit}`,
    order.asset && `${l.asset} ${order.asset}`,
    order.device && `${l.device} ${order.device}`,
  ].filter(Boolean);
  const assignee = n.assignee ?? order.assignee;
  const lines = [
    `${texts.headline[n.event]} ${order.number}${sep}${title}`,
    ...(texts.whatHappened[n.event] ? [texts.whatHappened[n.event]] : []),
    '',
    `${l.site}${sep}${order.site}${place.length > 0 ? `${texts.listSep}${place.join(texts.listSep)}` : ''}`,
    `${l.category}${sep}${texts.categories[order.category] ?? order.category}`,
    `${l.priority}${sep}${order.priority} (${texts.priorities[order.priority] ?? order.priority})`,
    `${l.state}${sep}${texts.states[order.state] ?? order.state}`,
    `${l.team}${sep}${order.team ? teamName(order.team) : '-'}`,
    `${l.assignee}${sep}${assignee ?? l.nobody}`,
    `${l.respondBy}${sep}${siteTime(order.responseDueAt, order.timeZone)} (${order.timeZone})`,
    `${l.resolveBy}${sep}${siteTime(order.resolutionDueAt, order.timeZone)} (${order.timeZone})`,
    ...(order.description ? ['', `${l.description}${sep}`, order.description] : []),
    '',
    texts.closing(order.number),
    '',
  ];
  return { subject, text: lines.join('\n') };
}
