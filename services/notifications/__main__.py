from services.notifications.app import build
from shared.service import serve

serve(build())
