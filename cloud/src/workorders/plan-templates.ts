import type { WorkOrderCategory } from './work-order-rules.js';
import type { CalendarRule } from './plan-schedule.js';

type Language = 'zh-CN' | 'en';

/** A ready-made plan: the periodic checks a property manager in China has to schedule. */
export interface PlanTemplate {
  id: string;
  category: WorkOrderCategory;
  priority: number;
  calendar: CalendarRule;
  leadDays: number;
  /** the asset kinds it is meant for */
  assetKinds: string[];
  name: Record<Language, string>;
  basis: Record<Language, string>;
  checklist: Record<Language, string[]>;
}

export const PLAN_TEMPLATES: readonly PlanTemplate[] = [
  {
    // TSG T5002-2017 电梯维护保养规则: a lift is maintained at least every 15 days (半月保养).
    id: 'lift_15_day',
    category: 'lift',
    priority: 2,
    calendar: { every: 15, unit: 'day' },
    leadDays: 2,
    assetKinds: ['lift', 'escalator'],
    name: { 'zh-CN': '电梯半月维护保养', en: 'Lift maintenance (every 15 days)' },
    basis: {
      'zh-CN': '依据 TSG T5002《电梯维护保养规则》，电梯维护保养间隔不超过15日。',
      en: 'TSG T5002 (lift maintenance rules): a lift is maintained at least every 15 days.',
    },
    checklist: {
      'zh-CN': [
        '机房、滑轮间环境及手动紧急操作装置',
        '驱动主机运行、制动器动作及制动间隙',
        '限速器各销轴部位润滑、编码器清洁',
        '轿顶、轿厢照明、风扇、应急照明',
        '轿厢检修开关、急停开关、紧急报警装置（五方对讲）',
        '层门、轿门门锁电气触点及门系统联动',
        '底坑环境、急停开关、缓冲器',
        '填写维保记录并由使用单位签字确认',
      ],
      en: [
        'Machine room and pulley room, manual emergency operation device',
        'Traction machine running, brake action and brake gap',
        'Overspeed governor pins lubricated, encoder clean',
        'Car top, car lighting, fan and emergency lighting',
        'Inspection switch, stop switch, emergency alarm (intercom)',
        'Landing and car door locks, electrical contacts, door linkage',
        'Pit, pit stop switch, buffers',
        'Maintenance record filled in and signed by the building',
      ],
    },
  },
  {
    // GB 25201-2010 建筑消防设施的维护管理: fire equipment is inspected every month (月度检查).
    id: 'fire_monthly',
    category: 'fire',
    priority: 2,
    calendar: { every: 1, unit: 'month' },
    leadDays: 3,
    assetKinds: ['fire_equipment', 'fire_panel', 'sprinkler', 'fire_pump'],
    name: { 'zh-CN': '消防设施月度检查', en: 'Monthly fire-equipment inspection' },
    basis: {
      'zh-CN': '依据 GB 25201《建筑消防设施的维护管理》，建筑消防设施每月检查一次。',
      en: 'GB 25201 (maintenance of building fire equipment): fire equipment is inspected monthly.',
    },
    checklist: {
      'zh-CN': [
        '火灾报警控制器自检、故障及屏蔽信息',
        '感烟、感温探测器抽检',
        '消火栓箱、水带、水枪及压力',
        '灭火器压力、有效期及位置',
        '应急照明及疏散指示标志',
        '防火门闭门器及常闭状态',
        '自动喷水系统末端试水及报警阀',
        '消防水泵、稳压泵手动启动试验',
        '填写《建筑消防设施巡查记录》',
      ],
      en: [
        'Fire alarm panel self-test, faults and disabled points',
        'Smoke and heat detectors, sample test',
        'Hydrant cabinets, hoses, nozzles and pressure',
        'Extinguishers: pressure, expiry and location',
        'Emergency lighting and exit signs',
        'Fire doors: closers and kept closed',
        'Sprinklers: end-of-line test valve and alarm valve',
        'Fire and jockey pumps: manual start test',
        'Inspection record filled in',
      ],
    },
  },
  {
    // Not a legal check: the usual service of pumps and fans by run time or energy, as their makers ask.
    id: 'pump_service',
    category: 'plumbing',
    priority: 3,
    calendar: { every: 3, unit: 'month' },
    leadDays: 7,
    assetKinds: ['pump', 'fan', 'ahu', 'hvac', 'chiller'],
    name: { 'zh-CN': '水泵/风机定期保养', en: 'Pump and fan service' },
    basis: {
      'zh-CN': '按厂家要求：按运行时间或用电量，先到者为准。',
      en: 'As the maker asks: by run time or energy used, whichever comes first.',
    },
    checklist: {
      'zh-CN': ['轴承润滑', '机械密封有无渗漏', '联轴器及地脚螺栓紧固', '电机绝缘及运行电流', '振动与噪声'],
      en: ['Bearings lubricated', 'Mechanical seal: no leaks', 'Coupling and base bolts tight', 'Motor insulation and running current', 'Vibration and noise'],
    },
  },
];

export function planTemplate(id: string): PlanTemplate | undefined {
  return PLAN_TEMPLATES.find((t) => t.id === id);
}
