"""Alert delivery: render queued alerts per channel kind and send them through apprise."""

from watcher.notify.channels import Channels, check_channel_url
from watcher.notify.deliver import deliver_due

__all__ = ["Channels", "check_channel_url", "deliver_due"]
