/**
 * What the raiser writes on the orders it raises (titles, descriptions, checklists, notes), in the
 * language of the site's facilities team (workOrders.language): these are records, read on the phone
 * by the technician, not screens the console translates.
 */
export function raiserTexts(lang: 'zh-CN' | 'en') {
  const zh = lang === 'zh-CN';
  return {
    lang,
    findingTitles: (zh
      ? {
          baseline: '用量偏离基线',
          base_load: '夜间/周末基础负荷过高',
          spike: '用量尖峰',
          level_shift: '用量水平突变',
          stuck: '表计停走',
          comm_loss: '表计无数据',
          counter_reset: '表计计数复位或更换',
          leak: '疑似漏水',
          main_sub: '总分表差异（未计量用量）',
        }
      : {
          baseline: 'Consumption far from its baseline',
          base_load: 'Night and weekend base load too high',
          spike: 'Consumption spike',
          level_shift: 'Consumption level shifted',
          stuck: 'Meter stuck',
          comm_loss: 'Meter not reporting',
          counter_reset: 'Meter counter reset or replaced',
          leak: 'Water leak suspected',
          main_sub: 'Unmetered consumption between main and sub-meters',
        }) as Record<string, string>,
    faultTitles: (zh
      ? { device_offline: '设备离线', gateway_offline: '网关离线', meter_comm_error: '表计通讯故障', device_fault: '设备故障' }
      : { device_offline: 'Device offline', gateway_offline: 'Gateway offline', meter_comm_error: 'Meter not answering', device_fault: 'Device fault' }) as Record<string, string>,
    findingChecklists: (zh
      ? {
          leak: ['夜间关闭所有用水点后抄表', '检查该表支路的管道、阀门、水箱和马桶', '维修后再次抄表确认'],
          stuck: ['核对表计显示与系统读数', '检查表计接线与通讯', '表计不走字则更换'],
          base_load: ['夜间巡查：照明、空调、水泵是否未关', '检查定时与排程设置', '关闭应关闭的设备'],
          counter_reset: ['确认表计是否被更换或复位', '记录新旧表读数'],
          comm_loss: ['检查表计电源与通讯线路', '检查网关串口或网络连接'],
        }
      : {
          leak: ['Read the meter at night with all outlets closed', 'Inspect pipes, valves, tanks and toilets on the meter’s branch', 'Repair and read the meter again'],
          stuck: ['Check the meter display against the reading in Gatehouse', 'Check the meter’s wiring and communication', 'Replace the meter if it does not count'],
          base_load: ['Walk the area at night: lights, HVAC, pumps left on', 'Check schedules and timers', 'Switch off what should be off'],
          counter_reset: ['Check whether the meter was replaced or reset', 'Record the old and new meter readings'],
          comm_loss: ['Check the meter’s power and communication line', 'Check the gateway’s serial or network link'],
        }) as Record<string, string[]>,
    faultChecklists: (zh
      ? {
          device_offline: ['检查设备供电', '检查网络或串口连接', '必要时重启并确认恢复在线'],
          gateway_offline: ['检查网关供电与网络', '检查项目外网链路', '确认网关恢复在线'],
          meter_comm_error: ['检查总线上表计地址与接线', '检查总线终端电阻与供电'],
          device_fault: ['读取设备故障信息', '维修或更换'],
        }
      : {
          device_offline: ['Check the device’s power', 'Check its network or serial link', 'Restart it if needed and confirm it is back online'],
          gateway_offline: ['Check the gateway’s power and network', 'Check the site’s uplink', 'Confirm the gateway is back online'],
          meter_comm_error: ['Check the meter’s address and wiring on the bus', 'Check the bus termination and power'],
          device_fault: ['Read the fault on the device', 'Repair or replace it'],
        }) as Record<string, string[]>,
    faultSince: (title: string, since: number, detail: string | null) =>
      zh ? `${title}，自 ${new Date(since).toISOString()} 起${detail ? `：${detail}` : ''}` : `${title} since ${new Date(since).toISOString()}${detail ? `: ${detail}` : ''}`,
    findingEnded: zh ? '该异常已结束：请核实处理结果后关闭工单' : 'the finding has ended: check the work and close the order',
    faultEnded: zh ? '该故障已恢复：请核实处理结果后关闭工单' : 'the fault has ended: check the work and close the order',
  };
}
