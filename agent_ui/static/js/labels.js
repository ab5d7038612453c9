/** Chinese names of things the PBX names in English: the skill queues of queues.conf. One catalogue for the
 * console's state bar, call controls and the wallboard; a queue without a name here shows as configured. */

const QUEUE_LABELS = {
  complaints: "投诉",
  claims: "理赔报案",
  consultation: "咨询",
  callbacks: "回呼",
  vip: "VIP 专线",
  "general-service": "综合服务",
};

export function queueLabel(name) {
  return QUEUE_LABELS[name] || String(name);
}
