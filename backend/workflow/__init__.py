"""Workflow: where a submitted ticket is now (its open work item), who may act on it, and the handling record
of every action (转办, 上报, 退回, 答复, 结案, 重开, 撤回), driven by the process definitions in processes.yaml."""
